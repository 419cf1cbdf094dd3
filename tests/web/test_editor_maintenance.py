"""The review queue's filters and bulk actions; verify, retire and status changes confirmed first and undoable."""

from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from signpost.directory import service as directory
from signpost.directory.models import Service, ServiceAudit
from tests.directory.factories import make_service, token
from tests.web.factories import csrf_from, make_user, sign_in


def _editor(local: TestClient, session: Session) -> str:
    sign_in(local, make_user(session, "editor"))
    return csrf_from(local.get("/editor").text)


def _fresh(session: Session, service: Service) -> Service:
    session.refresh(service)
    return service


def _actions(session: Session, service: Service) -> list[str]:
    rows = session.exec(select(ServiceAudit).where(col(ServiceAudit.service_id) == service.id)).all()
    return [row.action for row in sorted(rows, key=lambda r: r.id or 0)]


def test_retire_asks_first_then_can_be_undone(local: TestClient, session: Session) -> None:
    csrf = _editor(local, session)
    service = make_service(session)
    url = f"/editor/services/{service.id}/retire"
    asked = local.post(url, data={"csrf_token": csrf, "version": str(service.version)})
    assert asked.status_code == 200 and "Retire this service?" in asked.text
    assert _fresh(session, service).retired_at is None  # nothing happens before the confirmation
    done = local.post(
        url, data={"csrf_token": csrf, "version": str(service.version), "confirmed": "yes"}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/editor/done?action=retire")
    assert _fresh(session, service).retired_at is not None
    page = local.get(done.headers["location"])
    assert "Undo" in page.text and service.name in page.text
    undone = local.post("/editor/undo", data={"csrf_token": csrf, "item": f"{service.id}:{service.version}"})
    assert undone.status_code == 200 and "Undone" in undone.text
    assert _fresh(session, service).retired_at is None
    assert _actions(session, service)[-2:] == ["retire", "undo"]
    assert directory.is_active(service)


def test_bulk_verify_is_confirmed_applied_to_all_and_undone_for_all(local: TestClient, session: Session) -> None:
    csrf = _editor(local, session)
    one, two = make_service(session), make_service(session)
    chosen = [f"{one.id}:{one.version}", f"{two.id}:{two.version}"]
    asked = local.post("/editor/bulk", data={"csrf_token": csrf, "service": chosen, "action": "verify"})
    assert asked.status_code == 200 and "Mark 2 services as verified today?" in asked.text
    assert _fresh(session, one).assured_date is None
    applied = local.post(
        "/editor/bulk",
        data={"csrf_token": csrf, "service": chosen, "action": "verify", "confirmed": "yes"},
        follow_redirects=False,
    )
    assert applied.status_code == 303
    assert _fresh(session, one).assured_date is not None and _fresh(session, two).assured_date is not None
    changed = parse_qs(urlparse(applied.headers["location"]).query)["changed"][0].split(",")
    local.post("/editor/undo", data={"csrf_token": csrf, "item": changed})
    assert _fresh(session, one).assured_date is None and _fresh(session, two).assured_date is None
    assert _fresh(session, one).assurer is None


def test_bulk_action_with_one_stale_service_changes_none_and_names_it(local: TestClient, session: Session) -> None:
    csrf = _editor(local, session)
    one, two = make_service(session), make_service(session)
    chosen = [f"{one.id}:{one.version}", f"{two.id}:{two.version}"]
    # Someone else changes the second service after the queue was opened.
    directory.verify_service(session=session, service_id=two.id, actor="someone", expected_version=two.version)
    session.commit()  # (a savepoint here: the test's transaction is rolled back at the end)
    answer = local.post(
        "/editor/bulk", data={"csrf_token": csrf, "service": chosen, "action": "retire", "confirmed": "yes"}
    )
    assert answer.status_code == 412
    assert two.name in answer.text and "Nothing was changed" in answer.text
    assert _fresh(session, one).retired_at is None and _fresh(session, two).retired_at is None


def test_undo_is_refused_once_the_service_changed_again(local: TestClient, session: Session) -> None:
    csrf = _editor(local, session)
    service = make_service(session)
    applied = local.post(
        f"/editor/services/{service.id}/status",
        data={"csrf_token": csrf, "version": str(service.version), "status": "inactive", "confirmed": "yes"},
        follow_redirects=False,
    )
    location = applied.headers["location"]
    after = _fresh(session, service).version
    assert service.status == "inactive"
    directory.verify_service(session=session, service_id=service.id, actor="someone", expected_version=after)
    session.commit()
    assert "can no longer be undone" in local.get(location).text
    refused = local.post("/editor/undo", data={"csrf_token": csrf, "item": f"{service.id}:{after}"})
    assert refused.status_code == 412 and service.name in refused.text
    assert _fresh(session, service).status == "inactive"


def test_status_must_be_one_of_the_statuses(local: TestClient, session: Session) -> None:
    csrf = _editor(local, session)
    service = make_service(session)
    answer = local.post(
        "/editor/bulk",
        data={"csrf_token": csrf, "service": f"{service.id}:1", "action": "status", "status": "closed-ish"},
    )
    assert answer.status_code == 422 and "Choose the status" in answer.text
    assert _fresh(session, service).status == "active"


def test_queue_filters_never_verified_and_one_organisation(local: TestClient, session: Session) -> None:
    _editor(local, session)
    org_name = f"Filter Org {token()}"
    never = make_service(session, organization={"name": org_name})
    checked = make_service(session, organization={"name": org_name})
    directory.verify_service(session=session, service_id=checked.id, actor="x", expected_version=checked.version)
    elsewhere = make_service(session)
    page = local.get(f"/editor?filter=unverified&organization={never.organization_id}").text
    assert never.name in page and checked.name not in page and elsewhere.name not in page
    assert f"Showing services of <strong>{org_name}</strong>" in page
    everyone = local.get("/editor?filter=unverified").text
    assert "Never verified" in everyone and 'name="service"' in everyone
