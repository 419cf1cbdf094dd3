"""Two editors changing the same version at the same time: exactly one wins, the trail shows exactly that."""

import threading
import time

import pytest
from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from signpost.directory import service as directory
from signpost.directory.models import Organization, Service, ServiceAudit, ServiceSearch
from signpost.directory.schemas import ServicePatch
from signpost.errors import Problem
from tests.directory.factories import make_service


def _remove(engine, service_id: str) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        org_id = session.get(Service, service_id).organization_id  # type: ignore[union-attr]
        for model in (ServiceAudit, ServiceSearch):
            session.execute(delete(model).where(col(model.service_id) == service_id))
        session.execute(delete(Service).where(col(Service.id) == service_id))
        session.execute(delete(Organization).where(col(Organization.id) == org_id))
        session.commit()


def test_concurrent_updates_from_one_version_exactly_one_wins(engine) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name == "sqlite":
        # SQLite has one writer: the loser gets "database is locked" (503), not 412; the sequential
        # If-Match tests in test_maintenance cover the version check there.
        pytest.skip("needs a database with concurrent writers (PostgreSQL)")
    # Real commits on separate connections (not the rolled-back test session), removed at the end;
    # no category or area, so no other test's search or routing can meet it meanwhile.
    with Session(engine) as session:
        service_id = make_service(session, categories=[], service_areas=[]).id
        session.commit()
    try:
        _race(engine, service_id)
    finally:
        _remove(engine, service_id)


def _race(engine, service_id: str) -> None:  # type: ignore[no-untyped-def]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def edit(text: str) -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                directory.update_service(
                    session=session,
                    service_id=service_id,
                    data=ServicePatch(description=text),
                    actor=text,
                    expected_version=1,
                )
                session.commit()
                outcomes.append("won")
            except Problem as problem:
                session.rollback()
                outcomes.append(str(problem.status))
            except Exception as exc:  # recorded, so the assertion shows it
                session.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=edit, args=(f"editor {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["412", "won"]
    with Session(engine) as session:
        trail = directory.history(session=session, service_id=service_id)
        service = directory.get_service(session=session, service_id=service_id)
        assert [row.action for row in trail] == ["create", "update"]
        assert service.version == 2
        assert trail[1].changes["description"]["after"] == service.description == trail[1].actor


@pytest.mark.parametrize("stale", [False, True], ids=["from the current version", "from an older version"])
def test_an_edit_while_another_is_being_saved_is_refused_at_once_and_goes_through_after(engine, stale: bool) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's writers take turns in the process: the second waits for the first, then compares")
    with Session(engine) as session:
        created = make_service(session, categories=[], service_areas=[])
        service_id, name = created.id, created.name
        session.commit()
        if stale:  # someone else saved version 2 (another field): the edit from version 1 is merged
            name = "Renamed meanwhile"
            _edit_from_version_1(session, service_id, ServicePatch(name=name))
            session.commit()
    try:
        with Session(engine) as saving, Session(engine) as second:
            # An edit in progress: it holds the service's row until it commits.
            saving.execute(select(Service).where(col(Service.id) == service_id).with_for_update())
            # Were the edit to wait on the row after all, it fails here rather than hanging the test.
            second.execute(text("SET lock_timeout = '5s'"))

            def edit() -> None:
                _edit_from_version_1(second, service_id, ServicePatch(description="second"))

            started = time.monotonic()
            with pytest.raises(Problem) as refused:
                edit()
            second.rollback()
            assert time.monotonic() - started < 4  # not held until the first edit ends
            assert refused.value.status == 412
            assert "being saved" in refused.value.detail
            saving.rollback()  # the first edit gives up: the row is free again
            edit()
            second.commit()
        with Session(engine) as session:
            saved = directory.get_service(session=session, service_id=service_id)
            assert saved.description == "second"
            assert saved.name == name
            assert [row.action for row in directory.history(session=session, service_id=service_id)] == [
                "create",
                *(["update"] if stale else []),
                "update",
            ]
    finally:
        _remove(engine, service_id)


def _edit_from_version_1(session: Session, service_id: str, data: ServicePatch) -> None:
    directory.update_service(session=session, service_id=service_id, data=data, actor="editor", expected_version=1)
