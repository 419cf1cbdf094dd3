"""Roles, API keys and the access declarations every route makes.

A route declares who may call it with a dependency alias, e.g.
`EditorDep = Annotated[Caller, Depends(allow(Role.editor))]`, or `dependencies=[Public]`; a hot route that takes no
dependencies declares and checks its roles with `@checks_caller(Role.clinician)`.
"""

from signpost.auth.deps import Public, allow, checks_caller
from signpost.auth.models import Role
from signpost.auth.service import Actor as Caller

__all__ = ["Caller", "Public", "Role", "allow", "checks_caller"]
