"""A practice code is a GP practice's ODS code (a letter and five digits) and, once epraccur is loaded, a listed one."""

import csv
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from signpost.ods import service as ods
from tests.events.factories import make_directory_service
from tests.factories import bearer, make_key

NHS_NUMBER = "9434765919"  # a valid-checksum test NHS number: what a careless client might send as a practice


def _epraccur(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """An epraccur file as NHS Digital lays it out (27 columns, no header), made up for the tests."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        for code, name, status in rows:
            fields = [""] * ods.EPRACCUR_COLUMNS
            fields[0], fields[1], fields[2], fields[3] = code, name, "Y63", "QWO"
            fields[4], fields[9] = "1 TEST STREET", "LS1 1AA"
            fields[10], fields[11], fields[12], fields[13] = (
                "19740401",
                "" if status != "C" else "20200331",
                status,
                "B",
            )
            fields[25] = "4"
            writer.writerow(fields)
    return path


def _signpost(client, session: Session, practice: str):  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    body = {"services": [service], "needs": ["homeless"], "kind": "signposted", "practice_ods": practice}
    headers = bearer(make_key(session, "prescriber")) | {"Idempotency-Key": f"ods-{practice}"}
    return client.post("/api/v1/signposts", json=body, headers=headers)


def _stored_anywhere(session: Session, value: str) -> list[str]:
    found = []
    for table, column in (
        ("signpost_event", "practice_ods"),
        ("indicator_count", "practice_ods"),
        ("api_key", "practice_ods"),
    ):
        hit = session.connection().execute(text(f"SELECT count(*) FROM {table} WHERE {column} = :v"), {"v": value})
        if hit.scalar_one():
            found.append(table)
    return found


@pytest.mark.parametrize("code", ["B86001", "b86001", " Y02849 "])
def test_a_gp_practice_code_has_a_letter_and_five_digits(session: Session, code: str) -> None:
    assert ods.practice_problem(session=session, code=code) is None


@pytest.mark.parametrize("code", [NHS_NUMBER, "B8600", "B860011", "86001B", "RR8", "Y02849X", "B86 01", ""])
def test_anything_else_is_not_a_practice_code(session: Session, code: str) -> None:
    assert "letter and five digits" in (ods.practice_problem(session=session, code=code) or "")


def test_an_nhs_number_as_a_practice_is_refused_and_stored_nowhere(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    response = _signpost(client, session, NHS_NUMBER)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == "practice_ods"
    assert NHS_NUMBER not in response.text
    assert _stored_anywhere(session, NHS_NUMBER) == []


def test_a_batch_names_the_item_whose_practice_is_wrong(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    items = [
        {"services": [service], "needs": ["homeless"], "kind": "signposted", "idempotency_key": key, "practice_ods": p}
        for key, p in (("a", "B86001"), ("b", NHS_NUMBER))
    ]
    response = client.post(
        "/api/v1/signposts/batch", json={"signposts": items}, headers=bearer(make_key(session, "prescriber"))
    )
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == ["signposts.1.practice_ods"]
    assert _stored_anywhere(session, NHS_NUMBER) == []


def test_a_key_for_an_nhs_number_practice_is_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/admin/keys",
        json={"role": "clinician", "name": "x", "practice_ods": NHS_NUMBER},
        headers=bearer(make_key(session, "admin")),
    )
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == "practice_ods"
    assert _stored_anywhere(session, NHS_NUMBER) == []


def test_the_keys_command_refuses_an_nhs_number_practice(committed_engine) -> None:  # type: ignore[no-untyped-def]
    from signpost.cli import app

    result = CliRunner().invoke(app, ["keys", "create", "--role", "clinician", "--name", "P", "--practice", NHS_NUMBER])
    assert result.exit_code != 0
    with committed_engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM api_key WHERE practice_ods = :v"), {"v": NHS_NUMBER})
        assert stored.scalar_one() == 0


def test_once_epraccur_is_loaded_only_listed_practices_are_accepted(client, session: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _epraccur(tmp_path / "epraccur.csv", [("B86001", "PARK LANE SURGERY", "A"), ("Y02849", "OLD SURGERY", "C")])
    loaded = ods.import_epraccur(session=session, path=path)
    assert (loaded.practices, loaded.by_status) == (2, {"A": 1, "C": 1})
    assert _signpost(client, session, "B86001").status_code == 201
    refused = _signpost(client, session, "B99999")
    assert refused.status_code == 422 and "ODS list" in refused.json()["errors"][0]["message"]


def test_a_file_not_in_epraccur_layout_is_refused_with_its_line_and_nothing_changes(
    session: Session, tmp_path: Path
) -> None:
    ods.import_epraccur(session=session, path=_epraccur(tmp_path / "good.csv", [("B86001", "PARK LANE", "A")]))
    bad = _epraccur(tmp_path / "bad.csv", [("B86002", "ONE", "A"), (NHS_NUMBER, "TWO", "A")])
    with pytest.raises(ods.EpraccurError, match="line 2"):
        ods.import_epraccur(session=session, path=bad)
    assert ods.practice_problem(session=session, code="B86001") is None
    assert ods.practice_problem(session=session, code="B86002") is not None
