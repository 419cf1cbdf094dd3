"""Privacy: a response full of identifiers leaves none of them in any table or any log line."""

import logging

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from signpost.ops.logging import JsonFormatter
from tests.factories import bearer, load_test_geography, make_key
from tests.routing.factories import make_service
from tests.template.builders import ALL_NEEDS, make_response

IDENTIFIERS = [
    "9434765919", "943 476 5919", "Jane Doe-Smithson", "Smithson", "14 Acacia Avenue", "LS7 0ZD", "LS70ZD",
    "1980-05-01", "07700 900123", "jane.smithson@example.com", "Sister's new boyfriend hits her",
    "E01011352", "QR-2026-SECRET-77",
]  # fmt: skip


def response_full_of_identifiers() -> dict:  # type: ignore[type-arg]
    patient = {
        "resourceType": "Patient",
        "id": "pt",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
        "name": [{"family": "Smithson", "given": ["Jane"], "text": "Jane Doe-Smithson"}],
        "telecom": [
            {"system": "phone", "value": "07700 900123"},
            {"system": "email", "value": "jane.smithson@example.com"},
        ],
        "birthDate": "1980-05-01",
        "address": [{"line": ["14 Acacia Avenue"], "city": "Leeds", "postalCode": "LS7 0ZD"}],
    }
    return make_response(
        ALL_NEEDS,
        identifier={"system": "urn:practice:qr", "value": "QR-2026-SECRET-77"},
        contained=[patient],
        subject={"reference": "#pt", "display": "Jane Doe-Smithson 943 476 5919"},
        author={"display": "Dr Smithson"},
        text={
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">Sister\'s new boyfriend hits her. LSOA E01011352</div>',
        },
    )


def all_rows(session: Session) -> set[str]:
    """Every row of every table, as text."""
    session.flush()
    return {
        f"{table.name}: {tuple(row)!r}"
        for table in SQLModel.metadata.sorted_tables
        for row in session.execute(text(f'SELECT * FROM "{table.name}"'))
    }


def test_no_identifier_reaches_any_table_or_log_line(client: TestClient, session: Session, capsys) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    make_service(session, "Jobs Club", ["employment"])
    # Reference data (the postcode lookup itself) holds postcodes; what matters is what the submission writes.
    before = all_rows(session)
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    collector = Collect(logging.DEBUG)
    collector.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(collector)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        headers = {
            "Content-Type": "application/fhir+json",
            **bearer(make_key(session, "clinician", practice_ods="B86001")),
        }
        response = client.post(
            "/fhir/QuestionnaireResponse/$signpost", json=response_full_of_identifiers(), headers=headers
        )
        assert response.status_code == 200, response.text
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)
    captured = capsys.readouterr()
    stored = "\n".join(all_rows(session) - before)
    logged = "\n".join(lines) + captured.out + captured.err
    assert "signpost_event: " in stored and "E05011390" in stored  # the events, with their ward, were stored
    for identifier in IDENTIFIERS:
        assert identifier not in stored, identifier
        assert identifier not in logged, identifier
