"""Holiday and special opening times: edited and merged through the API, refused in words when wrong, imported from
ORUK feeds, offered as FHIR notAvailable, and counted by "open now"."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from signpost.directory import importer
from signpost.directory.models import HolidaySchedule, Service
from signpost.directory.search import ServiceQuery, search_services
from tests.directory.factories import make_service, token
from tests.factories import bearer, make_key
from tests.openreferral.factories import load, oruk_service

BASE = "/api/v1/directory/services"
UK = ZoneInfo("Europe/London")
CHRISTMAS = {"valid_from": "2026-12-25", "valid_to": "2026-12-26", "description": "Christmas"}
EVE = {"valid_from": "2026-12-24", "closed": False, "opens_at": "10:00", "closes_at": "13:00"}


def _patch(client: TestClient, session: Session, service_id: str, body: dict[str, Any], version: int) -> Any:
    headers = {**bearer(make_key(session, "editor")), "If-Match": f'"{service_id}.{version}"'}
    return client.patch(f"{BASE}/{service_id}", json=body, headers=headers)


def _read(client: TestClient, session: Session, service_id: str) -> dict[str, Any]:
    return dict(client.get(f"{BASE}/{service_id}", headers=bearer(make_key(session, "editor"))).json())


def test_holidays_are_saved_read_back_and_audited_with_a_readable_label(client: TestClient, session: Session) -> None:
    service = make_service(session)
    response = _patch(client, session, service.id, {"holiday_schedules": [CHRISTMAS, EVE]}, 1)
    assert response.status_code == 200, response.text
    assert response.json()["holiday_schedules"] == [
        {
            "valid_from": "2026-12-24",
            "valid_to": "2026-12-24",  # one day when no last day is given
            "closed": False,
            "opens_at": "10:00",
            "closes_at": "13:00",
            "description": None,
        },
        {
            "valid_from": "2026-12-25",
            "valid_to": "2026-12-26",
            "closed": True,
            "opens_at": None,
            "closes_at": None,
            "description": "Christmas",
        },
    ]
    trail = client.get(f"{BASE}/{service.id}/history", headers=bearer(make_key(session, "editor"))).json()["changes"]
    assert trail[-1]["fields"]["holiday_schedules"]["before"] == []
    assert len(trail[-1]["fields"]["holiday_schedules"]["after"]) == 2


def test_a_holiday_edit_and_a_phone_edit_from_the_same_version_both_stand(client: TestClient, session: Session) -> None:
    service = make_service(session)
    assert _patch(client, session, service.id, {"holiday_schedules": [CHRISTMAS]}, 1).status_code == 200
    second = _patch(client, session, service.id, {"phones": [{"number": "0113 496 0000"}]}, 1)
    assert second.status_code == 200, second.text
    body = _read(client, session, service.id)
    assert [h["description"] for h in body["holiday_schedules"]] == ["Christmas"]
    assert [p["number"] for p in body["phones"]] == ["0113 496 0000"]


def test_two_editors_changing_the_holidays_differently_is_a_412_with_both_values(
    client: TestClient, session: Session
) -> None:
    service = make_service(session)
    assert _patch(client, session, service.id, {"holiday_schedules": [CHRISTMAS]}, 1).status_code == 200
    response = _patch(client, session, service.id, {"holiday_schedules": [EVE]}, 1)
    assert response.status_code == 412
    [conflict] = response.json()["conflicts"]
    assert conflict["label"] == "Holiday opening times"
    assert conflict["theirs"][0]["description"] == "Christmas" and conflict["yours"][0]["opens_at"] == "10:00"


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ({"valid_from": "2026-12-25", "closed": False, "opens_at": "14:00", "closes_at": "10:00"}, "closes must be"),
        ({"valid_from": "2026-12-26", "valid_to": "2026-12-25"}, "last day (valid_to) must be on or after"),
        ({"valid_from": "2026-02-30"}, "valid_from"),
        ({"valid_from": "Christmas"}, "valid_from"),
        ({"valid_from": "1066-12-25"}, "between the years 2000 and 2100"),
        ({"valid_from": "2026-12-25", "opens_at": "10:00", "closes_at": "12:00"}, "closed all day has no opening"),
        ({"valid_from": "2026-12-25", "closed": False}, "give opens_at and closes_at"),
        ({"valid_from": "2026-01-01", "valid_to": "2027-06-01"}, "at most 366 days"),
    ],
)
def test_bad_holiday_input_is_422_naming_the_field_and_saves_nothing(
    client: TestClient, session: Session, row: dict[str, Any], words: str
) -> None:
    service = make_service(session)
    body = {"holiday_schedules": [CHRISTMAS, row], "description": "Should not be saved."}
    response = _patch(client, session, service.id, body, 1)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert "holiday_schedules" in problem["detail"] and words in problem["detail"]
    held = _read(client, session, service.id)
    assert (held["holiday_schedules"], held["version"]) == ([], 1)
    assert held["description"] != "Should not be saved."


def test_a_feed_s_dated_schedules_and_hsds2_holidays_are_imported_and_reimport_is_unchanged(session: Session) -> None:
    record = oruk_service(
        holiday_schedules=[  # HSDS 2 / ORUK 1.0
            {"closed": True, "start_date": "2027-01-01", "end_date": "2027-01-01", "description": "New Year's Day"},
            {"closed": False, "start_date": "2026-12-31", "end_date": "2026-12-31", "opens_at": "9:00"},
        ]
    )
    record["schedules"].append({"id": "bad", "valid_from": "2026-13-01", "description": "nonsense"})
    report = load(session, record)
    assert report.created == [record["id"]]
    held = session.exec(
        select(HolidaySchedule)
        .where(col(HolidaySchedule.service_id) == record["id"])
        .order_by(col(HolidaySchedule.valid_from))
    ).all()
    assert [(h.valid_from.isoformat(), h.valid_to.isoformat(), h.closed, h.description) for h in held] == [
        ("2026-12-24", "2026-12-24", False, None),
        ("2026-12-25", "2026-12-26", True, "Christmas"),
        ("2027-01-01", "2027-01-01", True, "New Year's Day"),
    ]
    assert held[0].opens_at is not None and held[0].opens_at.strftime("%H:%M") == "10:00"
    # Nonsense dates, and open with no closing time, are left out and said so.
    assert any("2026-13-01" in w["message"] for w in report.warnings)
    assert any("2026-12-31 gives no full opening and closing times" in w["message"] for w in report.warnings)
    again = importer.ImportReport(source="again", format="oruk3")
    importer.import_records(session=session, records=[record], report=again, actor="test")
    assert again.unchanged == [record["id"]]


def test_fhir_healthcare_service_lists_holidays_as_not_available(client: TestClient, session: Session) -> None:
    service = make_service(session, holiday_schedules=[CHRISTMAS, EVE])
    body = client.get(f"/fhir/HealthcareService/{service.id}", headers=bearer(make_key(session, "clinician"))).json()
    assert body["notAvailable"] == [
        {
            "description": "Open 10:00 to 13:00 only, not the usual hours",
            "during": {"start": "2026-12-24", "end": "2026-12-24"},
        },
        {"description": "Christmas: closed all day", "during": {"start": "2026-12-25", "end": "2026-12-26"}},
    ]


def test_open_now_leaves_out_a_service_closed_for_a_holiday_and_counts_special_hours(session: Session) -> None:
    word = token()
    friday = [{"byday": "FR", "opens_at": "09:00", "closes_at": "17:00"}]
    make_service(session, name=f"{word} closed", schedules=friday, holiday_schedules=[CHRISTMAS])
    make_service(session, name=f"{word} usual", schedules=friday)
    make_service(
        session,
        name=f"{word} special",
        holiday_schedules=[{**EVE, "valid_from": "2026-12-25", "opens_at": "11:00", "closes_at": "12:00"}],
    )

    def open_at(hour: int, day: int = 25) -> list[str]:
        at = datetime(2026, 12, day, hour, 30, tzinfo=UK)
        page = search_services(session=session, query=ServiceQuery(text=word, open_now=True, at=at))
        return sorted(hit.service.name.split()[-1] for hit in page.hits)

    assert open_at(11) == ["special", "usual"]
    assert open_at(15) == ["usual"]
    assert open_at(11, day=18) == ["closed", "usual"]  # the Friday before: regular hours


def test_an_import_marks_the_services_it_writes_with_its_run(client: TestClient, session: Session) -> None:
    first, second = oruk_service(), oruk_service()
    one = load(session, first, second)
    two = load(session, {**first, "description": "Changed."}, second)
    assert one.run_id is not None and two.run_id is not None and one.run_id != two.run_id
    runs = {
        s.id: s.import_run_id
        for s in session.exec(select(Service).where(col(Service.id).in_([first["id"], second["id"]])))
    }
    # The second run changed only the first; the unchanged one stays with the run that last wrote it.
    assert runs == {first["id"]: two.run_id, second["id"]: one.run_id}
    editor = bearer(make_key(session, "editor"))
    listed = {r["id"]: r for r in client.get("/api/v1/directory/import-runs", headers=editor).json()["items"]}
    assert (listed[one.run_id]["services"], listed[two.run_id]["services"]) == (1, 1)
    queue = client.get(
        "/api/v1/directory/review-queue", params={"import_run": two.run_id, "per_page": 200}, headers=editor
    )
    assert [i["id"] for i in queue.json()["items"]] == [first["id"]]
    assert client.get("/api/v1/directory/review-queue", params={"import_run": "x"}, headers=editor).status_code == 422


def test_a_dry_run_leaves_no_import_run(session: Session) -> None:
    report = importer.ImportReport(source="trial", format="oruk3", dry_run=True)
    importer.import_records(session=session, records=[oruk_service()], report=report, actor="test")
    assert report.run_id is None and len(report.created) == 1
