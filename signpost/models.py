"""Imports every domain's tables, so alembic and tests see the whole schema."""

from signpost.auth import models as auth_models  # noqa: F401
from signpost.auth import users as auth_users  # noqa: F401
from signpost.cds_hooks import models as cds_hooks_models  # noqa: F401
from signpost.directory import capacity as directory_capacity  # noqa: F401
from signpost.directory import models as directory_models  # noqa: F401
from signpost.events import models as events_models  # noqa: F401
from signpost.geography import models as geography_models  # noqa: F401
from signpost.indicators import models as indicators_models  # noqa: F401
from signpost.ods import models as ods_models  # noqa: F401
from signpost.referrals import models as referrals_models  # noqa: F401
