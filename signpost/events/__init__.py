"""The anonymised event store shared by the template and prescribers; `store` holds every statement writing it."""

from signpost.events import store
from signpost.events.models import NewEvent
from signpost.events.service import is_recorded, key_hmac, record, record_many, record_now

__all__ = ["NewEvent", "is_recorded", "key_hmac", "record", "record_many", "record_now", "store"]
