"""The anonymised event store shared by the template and prescribers; `store` holds every statement writing it."""

from signpost.events import store
from signpost.events.models import NewEvent
from signpost.events.recorder import Recorder
from signpost.events.service import is_recorded, key_hmac, record, record_many

__all__ = ["NewEvent", "Recorder", "is_recorded", "key_hmac", "record", "record_many", "store"]
