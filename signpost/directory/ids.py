"""Open Referral ids: the UK profile wants UUIDs, so a record held under another id is published under one derived
from it (uuid5, the same everywhere and always), and a feed that sends that UUID back finds the same record."""

import uuid

NAMESPACE = "https://signpost.example.org/fhir/directory"


def is_uuid(value: str) -> bool:
    try:
        return len(value) == 36 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def term_id(raw: str) -> str:
    """A taxonomy term's published id: its own when a UUID, else one derived from it."""
    if is_uuid(raw):
        return raw
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{NAMESPACE}/taxonomy_term/{raw}"))
