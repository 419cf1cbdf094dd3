"""Imports every domain's tables, so alembic and tests see the whole schema."""

from signpost.auth import models as auth_models  # noqa: F401
from signpost.events import models as events_models  # noqa: F401
