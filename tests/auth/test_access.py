"""Deny by default: anonymous 401, wrong role 403, revoked 401, each with a body that says why."""

import asyncio
import time
from datetime import UTC, datetime

import pytest
from fastapi import APIRouter, FastAPI
from sqlmodel import Session, select

from signpost.auth.deps import enforce_declared_roles
from signpost.auth.models import ApiKey
from signpost.auth.service import REMEMBER_SECONDS, hash_key
from tests.factories import bearer, make_key
from tests.fhir_api.committed import served, signpost_app


def test_anonymous_gets_401_saying_a_key_is_needed(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/admin/keys")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "API key" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_key_gets_401(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/admin/keys", headers=bearer("sp_not-a-real-key"))
    assert response.status_code == 401
    assert "not recognised" in response.json()["detail"]


def test_wrong_role_gets_403_naming_the_roles(client, session) -> None:  # type: ignore[no-untyped-def]
    key = make_key(session, "analyst")
    response = client.get("/api/v1/admin/keys", headers=bearer(key))
    assert response.status_code == 403
    assert "analyst" in response.json()["detail"] and "admin" in response.json()["detail"]


def test_admin_creates_lists_and_revokes_keys(client, session) -> None:  # type: ignore[no-untyped-def]
    admin = make_key(session, "admin")
    created = client.post(
        "/api/v1/admin/keys",
        headers=bearer(admin),
        json={"role": "clinician", "name": "Dr Test's practice", "practice_ods": "b86001"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith("sp_") and body["practice_ods"] == "B86001"

    listed = client.get("/api/v1/admin/keys", headers=bearer(admin)).json()
    assert any(k["id"] == body["id"] for k in listed)
    assert all("key" not in k and "key_hash" not in k for k in listed)

    new_key = body["key"]
    assert client.get("/api/v1/admin/keys", headers=bearer(new_key)).status_code == 403
    revoked = client.post(f"/api/v1/admin/keys/{body['id']}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = client.get("/api/v1/admin/keys", headers=bearer(new_key))
    assert after.status_code == 401 and "revoked" in after.json()["detail"]


def test_keys_are_stored_only_as_hashes(client, session) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from signpost.auth.models import ApiKey

    secret = make_key(session, "editor")
    stored = session.exec(select(ApiKey)).all()
    assert stored and all(secret not in (k.key_hash, k.prefix, k.name) for k in stored)


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"role": "wizard", "name": "x"}, "role"),
        ({"role": "analyst", "name": ""}, "name"),
        ({"role": "analyst", "name": "x", "practice_ods": "B86001"}, "practice_ods"),
        ({"role": "clinician", "name": "x", "practice_ods": "!!"}, "practice_ods"),
        ({"role": "clinician", "name": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_key_requests_name_the_field(client, session, payload, field) -> None:  # type: ignore[no-untyped-def]
    admin = make_key(session, "admin")
    response = client.post("/api/v1/admin/keys", headers=bearer(admin), json=payload)
    assert response.status_code == 422
    assert field in response.text


def test_a_route_without_declared_roles_stops_the_app() -> None:
    app = FastAPI()
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    app.include_router(router)
    with pytest.raises(RuntimeError, match="/forgotten"):
        enforce_declared_roles(app)


def test_every_route_of_the_app_declares_roles(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.routing import APIRoute

    from signpost.auth.deps import route_roles

    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert routes and all(route_roles(r) for r in routes)


def test_a_key_revoked_by_another_process_stops_working_within_the_remembered_time(
    client, session, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    key = make_key(session, "admin")
    assert client.get("/api/v1/admin/keys", headers=bearer(key)).status_code == 200
    # As `signpost keys revoke` in another process does it: straight to the database, this process not told.
    record = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).one()
    record.revoked_at = datetime.now(UTC)
    session.add(record)
    session.flush()
    assert client.get("/api/v1/admin/keys", headers=bearer(key)).status_code == 200
    later = time.monotonic() + REMEMBER_SECONDS + 1  # the service's own clock, not the event loop's
    monkeypatch.setattr("signpost.remember.monotonic", lambda: later)
    after = client.get("/api/v1/admin/keys", headers=bearer(key))
    assert after.status_code == 401 and "revoked" in after.json()["detail"]


def test_a_worker_in_steady_use_learns_of_a_revocation_from_its_background_renewal(
    settings, committed_engine, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    app, _ = signpost_app(settings, committed_engine)
    with Session(committed_engine) as session:
        key = make_key(session, "admin")
        session.commit()
    clock = [time.monotonic()]
    monkeypatch.setattr("signpost.remember.monotonic", lambda: clock[0])

    async def scenario() -> list[int]:
        async with served(app) as client:
            statuses = [(await client.get("/api/v1/admin/keys", headers=bearer(key))).status_code]
            with Session(committed_engine) as session:  # revoked by another process: this one is not told
                record = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).one()
                record.revoked_at = datetime.now(UTC)
                session.add(record)
                session.commit()
            clock[0] += REMEMBER_SECONDS * 0.6  # past half its time: believed, and read again in the background
            statuses.append((await client.get("/api/v1/admin/keys", headers=bearer(key))).status_code)
            for _ in range(250):  # the clock stands still: only the renewal can stop the key
                answer = await client.get("/api/v1/admin/keys", headers=bearer(key))
                if answer.status_code != 200:
                    assert "revoked" in answer.json()["detail"]
                    return [*statuses, answer.status_code]
                await asyncio.sleep(0.02)
        return statuses

    assert asyncio.run(scenario()) == [200, 200, 401]


def test_public_is_recorded_and_then_not_solved_for_each_request(app, client) -> None:  # type: ignore[no-untyped-def]
    from fastapi.routing import APIRoute

    from signpost.auth.deps import public, route_roles

    healthz = next(r for r in app.routes if isinstance(r, APIRoute) and r.path == "/healthz")
    assert route_roles(healthz) == ("public",) and healthz.openapi_extra["x-signpost-roles"] == ["public"]
    assert all(d.call is not public for d in healthz.dependant.dependencies)
    assert client.get("/healthz").status_code == 200
