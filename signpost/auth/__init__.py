"""Roles, API keys and the access declarations every route makes.

A route declares who may call it with a dependency alias, e.g.
`EditorDep = Annotated[Caller, Depends(allow(Role.editor))]`, or `dependencies=[Public]`.
"""

from signpost.auth.deps import Public, allow
from signpost.auth.models import Role
from signpost.auth.service import Actor as Caller

__all__ = ["Caller", "Public", "Role", "allow"]
