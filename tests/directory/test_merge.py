"""Edits never lose data: field-by-field merges from an older version, conflicts with both values, restores."""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from signpost.directory import service as directory
from signpost.directory.schemas import ServicePatch
from signpost.errors import Problem
from tests.directory.factories import make_service
from tests.factories import bearer, make_key, sql_sent

BASE = "/api/v1/directory/services"


def _patch(client, session: Session, service_id: str, body: dict[str, Any], version: int):  # type: ignore[no-untyped-def]
    headers = {**bearer(make_key(session, "editor")), "If-Match": f'"{service_id}.{version}"'}
    return client.patch(f"{BASE}/{service_id}", json=body, headers=headers)


def test_disjoint_edits_from_the_same_version_both_stand(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session, email="old@example.org", description="Old text.")
    assert _patch(client, session, service.id, {"description": "New text."}, 1).status_code == 200
    second = _patch(client, session, service.id, {"email": "new@example.org"}, 1)
    assert second.status_code == 200, second.text
    body = client.get(f"{BASE}/{service.id}", headers=bearer(make_key(session, "editor"))).json()
    assert (body["description"], body["email"], body["version"]) == ("New text.", "new@example.org", 3)


def test_a_field_both_changed_is_412_listing_both_values_and_nothing_is_saved(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session, email="old@example.org", description="Old text.")
    assert _patch(client, session, service.id, {"description": "Theirs."}, 1).status_code == 200
    response = _patch(client, session, service.id, {"description": "Mine.", "email": "mine@example.org"}, 1)
    assert response.status_code == 412
    body = response.json()
    assert body["conflicts"] == [
        {"field": "description", "label": "Description", "yours": "Mine.", "theirs": "Theirs.", "base": "Old text."}
    ]
    assert (body["base_version"], body["current_version"]) == (1, 2)
    current = client.get(f"{BASE}/{service.id}", headers=bearer(make_key(session, "editor"))).json()
    assert (current["description"], current["email"]) == ("Theirs.", "old@example.org")


def test_categories_compare_as_sets(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session, categories=["housing", "debt"])
    assert (
        _patch(client, session, service.id, {"categories": ["debt", "housing"], "name": "Renamed"}, 1).status_code
        == 200
    )
    # The same set in another order is the same change, not a conflict.
    again = _patch(client, session, service.id, {"categories": ["housing", "debt"], "email": "a@example.org"}, 1)
    assert again.status_code == 200, again.text


def test_an_edit_that_leaves_a_field_as_it_was_keeps_the_other_editors_value(session: Session) -> None:
    service = make_service(session, email="old@example.org", description="Old text.")
    directory.update_service(
        session=session,
        service_id=service.id,
        data=ServicePatch(email="theirs@example.org"),
        actor="a",
        expected_version=1,
    )
    # A form sends every field: the e-mail as it was when this editor opened the page.
    directory.update_service(
        session=session,
        service_id=service.id,
        data=ServicePatch(email="old@example.org", description="Mine."),
        actor="b",
        expected_version=1,
    )
    session.refresh(service)
    assert (service.email, service.description) == ("theirs@example.org", "Mine.")


def test_keep_mine_overwrites_only_the_conflicting_field(session: Session) -> None:
    service = make_service(session, email="old@example.org", description="Old text.", name="Old name")
    directory.update_service(
        session=session,
        service_id=service.id,
        data=ServicePatch(description="Theirs.", email="theirs@example.org"),
        actor="a",
        expected_version=1,
    )
    mine = ServicePatch(description="Mine.", email="old@example.org", name="Old name")
    directory.update_service(
        session=session,
        service_id=service.id,
        data=mine,
        actor="b",
        expected_version=1,
        resolve={"description": "mine"},
    )
    session.refresh(service)
    assert (service.description, service.email) == ("Mine.", "theirs@example.org")


def _stale_edit_statements(
    session: Session, theirs: ServicePatch, data: ServicePatch
) -> tuple[Problem | None, list[str]]:
    """Edit the service at version 1 after another edit; the statements the edit ran, and its refusal if any."""
    service = make_service(session, description="Old text.", name="Old name")
    directory.update_service(session=session, service_id=service.id, data=theirs, actor="a", expected_version=1)
    with sql_sent(session.connection()) as sent:
        try:
            directory.update_service(session=session, service_id=service.id, data=data, actor="b", expected_version=1)
        except Problem as problem:
            return problem, [statement for statement, _ in sent]
    return None, [statement for statement, _ in sent]


def test_a_stale_edit_of_plain_fields_is_compared_without_writing_it_first(session: Session) -> None:
    problem, statements = _stale_edit_statements(
        session, ServicePatch(description="Theirs."), ServicePatch(description="Mine.")
    )
    assert problem is not None and problem.status == 412
    assert problem.extra["conflicts"][0]["yours"] == "Mine."
    assert not [s for s in statements if s.upper().startswith(("SAVEPOINT", "UPDATE"))]


def test_a_stale_edit_of_a_list_is_compared_as_saved(session: Session) -> None:
    # Lists are compared as the record would hold them: written in a savepoint and rolled back.
    phones = ServicePatch(description="Theirs.", phones=[{"number": "0113 496 0001"}])
    problem, statements = _stale_edit_statements(
        session, phones, ServicePatch(description="Mine.", phones=[{"number": "0113 496 0000"}])
    )
    assert problem is not None and problem.status == 412
    assert [s for s in statements if s.upper().startswith("SAVEPOINT")]


def test_a_stale_edit_that_empties_the_name_is_refused(session: Session) -> None:
    service = make_service(session, name="Old name")
    directory.update_service(
        session=session, service_id=service.id, data=ServicePatch(name="Theirs"), actor="a", expected_version=1
    )
    with pytest.raises(Problem) as caught:
        directory.update_service(
            session=session, service_id=service.id, data=ServicePatch(name=None), actor="b", expected_version=1
        )
    assert (caught.value.status, caught.value.errors) == (422, [{"loc": "name", "message": "a service needs a name"}])


def test_any_earlier_version_can_be_restored_as_an_audited_edit(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session, email="first@example.org", description="First.", categories=["food"])
    assert _patch(client, session, service.id, {"description": "Second.", "categories": ["debt"]}, 1).status_code == 200
    assert _patch(client, session, service.id, {"email": "third@example.org"}, 2).status_code == 200
    headers = {**bearer(make_key(session, "editor")), "If-Match": f'"{service.id}.3"'}
    response = client.post(f"{BASE}/{service.id}/restore/1", headers=headers)
    assert response.status_code == 200, response.text
    body = client.get(f"{BASE}/{service.id}", headers=headers).json()
    assert (body["description"], body["email"], body["categories"], body["version"]) == (
        "First.",
        "first@example.org",
        ["food"],
        4,
    )
    trail = client.get(f"{BASE}/{service.id}/history", headers=headers).json()["changes"]
    assert trail[-1]["action"] == "restore"
    assert trail[-1]["fields"]["email"] == {"before": "third@example.org", "after": "first@example.org"}
    stale = client.post(f"{BASE}/{service.id}/restore/1", headers=headers)  # If-Match still names version 3
    assert stale.status_code == 412


FIELDS = ("description", "email", "categories", "phones", "schedules", "holiday_schedules", "locations", "languages")


def _rows(key: str, choices: list[Any], make: Any) -> Any:
    return st.lists(st.sampled_from(choices), unique=True, max_size=2).map(lambda picked: [make(p) for p in picked])


VALUES = {
    "description": st.sampled_from(["A.", "B.", "C."]),
    "email": st.sampled_from(["a@example.org", "b@example.org", None]),
    "categories": st.lists(st.sampled_from(["food", "debt", "housing"]), unique=True, max_size=3),
    "phones": _rows("number", ["0113 496 0000", "0113 496 0001", "116 123"], lambda n: {"number": n}),
    "schedules": _rows(
        "byday",
        [("MO", "09:00", "17:00"), ("TU", "10:00", "12:00"), ("SA", "10:00", "13:00")],
        lambda s: {"byday": s[0], "opens_at": s[1], "closes_at": s[2]},
    ),
    "holiday_schedules": _rows(
        "valid_from",
        [("2026-12-25", True, None), ("2026-12-24", False, "10:00")],
        lambda h: {"valid_from": h[0], "closed": h[1], "opens_at": h[2], "closes_at": None if h[1] else "13:00"},
    ),
    "locations": _rows(
        "postal_code", ["LS1 4AP", "LS2 7HE"], lambda pc: {"address_1": "1 Park Row", "postal_code": pc}
    ),
    "languages": _rows("code", ["pl", "ur", "cy"], lambda c: {"code": c}),
}
START = {
    "description": "A.",
    "email": "a@example.org",
    "categories": ["food"],
    "phones": [],
    "schedules": [],
    "holiday_schedules": [],
    "locations": [],
    "languages": [],
}
edit = st.tuples(
    st.integers(min_value=0, max_value=6),  # how many versions back the editor's page was opened
    st.fixed_dictionaries({}, optional={f: VALUES[f] for f in FIELDS}),  # the fields the edit sends
    st.sampled_from(["", "mine", "theirs"]),  # what the editor chooses when told of a conflict
)
# The part of each row that identifies it (lists of rows carry no order: they compare as sets).
ROW_KEY = {"phones": "number", "locations": "postal_code", "languages": "code", "holiday_schedules": "valid_from"}


def _key(field: str, value: Any) -> Any:
    if field == "categories":
        return sorted(value or [])
    if field == "schedules":
        return sorted((s["byday"], str(s["opens_at"])[:5], str(s["closes_at"])[:5]) for s in value or [])
    if field in ROW_KEY:
        return sorted(row[ROW_KEY[field]] for row in value or [])
    return value or None


def _same(field: str, one: Any, other: Any) -> bool:
    return bool(_key(field, one) == _key(field, other))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(edit, min_size=1, max_size=8), restore_to=st.integers(min_value=1, max_value=9))
def test_no_sequence_of_edits_merges_and_restores_loses_a_value_unknowingly(
    session: Session, edits: list[tuple[int, dict[str, Any], str]], restore_to: int
) -> None:
    """A model of every version is kept beside the real service; after each edit they must agree, a conflict must
    be reported exactly when both sides changed a field differently, and the audit trail must rebuild each version."""
    savepoint = session.begin_nested()
    try:
        service = make_service(session, description="A.", email="a@example.org", categories=["food"])
        versions = [dict(START)]
        for back, patch, choice in edits:
            base_version = max(1, len(versions) - back)
            base, current = versions[base_version - 1], versions[-1]
            expected = dict(current)
            conflicts = []
            for field, mine in patch.items():
                changed_since = any(
                    not _same(field, versions[k][field], versions[k - 1][field])
                    for k in range(base_version, len(versions))
                )
                if not changed_since:
                    expected[field] = mine
                elif _same(field, mine, current[field]) or _same(field, mine, base[field]):
                    continue  # the same change on both sides, or a field this edit left as it was
                elif choice == "mine":
                    expected[field] = mine  # told of the conflict, the editor chose their own value
                elif choice == "":
                    conflicts.append(field)
            try:
                directory.update_service(
                    session=session,
                    service_id=service.id,
                    data=ServicePatch.model_validate(patch),
                    actor="editor",
                    expected_version=base_version,
                    resolve={f: choice for f in patch} if choice else None,
                )
            except Problem as problem:
                assert problem.status == 412 and conflicts, problem.detail
                assert sorted(c["field"] for c in problem.extra["conflicts"]) == sorted(conflicts)
                continue
            assert not conflicts, f"conflict on {conflicts} went unreported"
            versions.append(expected)
            session.refresh(service)
            saved = directory.service_detail(session=session, service=service, review_months=12)
            for field in FIELDS:
                assert _same(field, saved[field], expected[field]), (field, saved[field], expected[field])
        # Every version the model holds can be rebuilt from the audit trail, so any can be restored.
        session.refresh(service)
        for number, model in enumerate(versions, start=1):
            rebuilt = directory.version_values(session=session, service=service, version=number)
            for field in FIELDS:
                assert _same(field, rebuilt[field], model[field]), (number, field)
        target = min(restore_to, len(versions))
        directory.restore_version(
            session=session, service_id=service.id, version=target, actor="editor", expected_version=service.version
        )
        session.refresh(service)
        restored = directory.service_detail(session=session, service=service, review_months=12)
        for field in FIELDS:
            assert _same(field, restored[field], versions[target - 1][field])
    finally:
        savepoint.rollback()
