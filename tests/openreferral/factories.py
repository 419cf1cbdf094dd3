"""Plain factory functions: ORUK 3.0 records, loaded through the importer like any feed."""

import uuid
from typing import Any

from sqlmodel import Session

from signpost.directory import importer


def oruk_service(**overrides: Any) -> dict[str, Any]:
    """A fully nested ORUK 3.0 service record with a fresh id."""
    sid = str(uuid.uuid4())
    record: dict[str, Any] = {
        "id": sid,
        "name": f"Advice Centre {sid[:6]}",
        "description": "<p>Free <b>housing</b> and benefits advice.</p>",
        "url": "https://advice.example.org/",
        "email": "help@advice.example.org",
        "status": "active",
        "minimum_age": 16,
        "maximum_age": None,
        "assured_date": "2025-06-01",
        "organization": {
            "id": str(uuid.uuid4()),
            "name": "Example Advice Trust",
            "description": "A local charity.",
            "website": "https://trust.example.org",
            "charity_number": "1234567",
        },
        "service_at_locations": [
            {
                "id": str(uuid.uuid4()),
                "location": {
                    "id": str(uuid.uuid4()),
                    "name": "Town hall",
                    "latitude": 53.7997,
                    "longitude": -1.5492,
                    "addresses": [{"address_1": "1 Civic Square", "city": "Leeds", "postal_code": "LS1 1UR"}],
                },
            }
        ],
        "attributes": [
            {
                "id": str(uuid.uuid4()),
                "taxonomy_term": {"id": "test-housing", "code": "housing", "term": "Housing", "taxonomy": "test"},
            }
        ],
        "contacts": [{"id": "c1", "name": "Reception", "phones": [{"id": "p1", "number": "0113 000 0000"}]}],
        "phones": [{"id": "p2", "number": "0800 000 000"}],
        "schedules": [
            {"id": "s1", "byday": "MO,TU", "opens_at": "09:00", "closes_at": "17:00"},
            # ORUK 3.0 dated schedules on no weekday: a closure and a special opening.
            {"id": "s2", "valid_from": "2026-12-25", "valid_to": "2026-12-26", "description": "Christmas"},
            {
                "id": "s3",
                "valid_from": "2026-12-24",
                "valid_to": "2026-12-24",
                "opens_at": "10:00",
                "closes_at": "13:00",
            },
        ],
        "cost_options": [{"id": "k1", "option": "Advice", "amount": 0}],
        "languages": [{"id": "l1", "name": "Polish", "code": "pl"}],
        "service_areas": [{"id": "a1", "name": "Leeds", "extent_type": "local_authority", "extent": "E08000035"}],
        "delivery_modes": ["in_person", "phone"],
    }
    record.update(overrides)
    return record


def load(session: Session, *records: dict[str, Any]) -> importer.ImportReport:
    """Put records in the directory through the importer."""
    report = importer.ImportReport(source="test", format="oruk3")
    importer.import_records(session=session, records=list(records), report=report, actor="test")
    return report
