"""The anonymised event store shared by the template and prescribers."""

from signpost.events.service import NewEvent, is_recorded, key_hmac, record, record_many, record_now

__all__ = ["NewEvent", "is_recorded", "key_hmac", "record", "record_many", "record_now"]
