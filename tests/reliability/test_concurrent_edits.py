"""50 clients edit one service at once with If-Match, against a real server on a committed database."""

import asyncio

import httpx
import pytest
from sqlmodel import Session

from signpost import db
from signpost.auth import service as auth

CLIENTS = 50
SERVICES = "/api/v1/directory/services"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from bench.common import server

    where = tmp_path_factory.mktemp("edits")
    url = f"sqlite:///{where / 'edits.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with Session(engine) as session:
        _, key = auth.create_key(session=session, role="editor", name="concurrent editor")
        session.commit()
    engine.dispose()
    env = {"SIGNPOST_DATABASE_URL": url, "SIGNPOST_VAR_DIR": str(where), "SIGNPOST_SECRET_KEY": "edits-secret"}
    with server("signpost.app:create_app", env=env) as base:
        yield base, {"Authorization": f"Bearer {key}"}


async def _patch_all(base: str, headers: dict[str, str], service_id: str, etag: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as client:
        return list(
            await asyncio.gather(
                *[
                    client.patch(
                        f"{SERVICES}/{service_id}", json={"description": f"edit {i}"}, headers={"If-Match": etag}
                    )
                    for i in range(CLIENTS)
                ]
            )
        )


async def _edit_until_done(base: str, headers: dict[str, str], service_id: str) -> list[tuple[int, str]]:
    """Each client retries (read, then If-Match) until its edit lands; returns (client, ETag after) per success."""

    async def one(client: httpx.AsyncClient, i: int) -> tuple[int, str]:
        while True:
            current = await client.get(f"{SERVICES}/{service_id}")
            answer = await client.patch(
                f"{SERVICES}/{service_id}",
                json={"description": f"client {i}"},
                headers={"If-Match": current.headers["etag"]},
            )
            if answer.status_code == 200:
                return i, answer.headers["etag"]
            assert answer.status_code == 412, answer.text

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        return list(await asyncio.gather(*[one(client, i) for i in range(CLIENTS)]))


def _create(base: str, headers: dict[str, str], name: str) -> tuple[str, str]:
    body = {"name": name, "organization": {"name": f"{name} organisation"}}
    created = httpx.post(base + SERVICES, json=body, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    return created.json()["id"], created.headers["etag"]


def test_fifty_edits_of_one_version_give_one_success_and_the_rest_412(live) -> None:  # type: ignore[no-untyped-def]
    base, headers = live
    service_id, etag = _create(base, headers, "Concurrent edits advice centre")
    answers = asyncio.run(_patch_all(base, headers, service_id, etag))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [412] * (CLIENTS - 1), statuses
    history = httpx.get(f"{base}{SERVICES}/{service_id}/history", headers=headers).json()["changes"]
    assert len(history) == 2, history


def test_every_retried_edit_lands_once_on_its_own_version_with_its_audit_row(live) -> None:  # type: ignore[no-untyped-def]
    base, headers = live
    service_id, _ = _create(base, headers, "Retried edits advice centre")
    successes = asyncio.run(_edit_until_done(base, headers, service_id))
    assert len({etag for _, etag in successes}) == CLIENTS, "two edits landed on the same version"
    history = httpx.get(f"{base}{SERVICES}/{service_id}/history", headers=headers).json()["changes"]
    assert len(history) == CLIENTS + 1
    assert sorted(h["version"] for h in history) == list(range(1, CLIENTS + 2))
