"""Ten identical `$signpost` submissions at once, against a committed database, are one event set."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from signpost.config import Settings
from signpost.events.models import EventSubmission, SignpostEvent
from tests.fhir_api.committed import served, signpost_app
from tests.template.builders import make_response

PATH = "/fhir/QuestionnaireResponse/$signpost"


@asynccontextmanager
async def _unserved(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


# Served, on PostgreSQL the app writes through its async pool; unserved (no lifespan), through the request's session.
@pytest.mark.parametrize("client_of", [served, _unserved], ids=["served", "unserved"])
def test_ten_concurrent_identical_submissions_store_one_event_set(
    settings: Settings,
    committed_engine: Engine,
    client_of: Callable[[FastAPI], AbstractAsyncContextManager[httpx.AsyncClient]],
) -> None:
    app, headers = signpost_app(settings, committed_engine, routing_cache_seconds=60)
    body = make_response({"work": [True], "isolation": [True]}, identifier={"value": "same-response-10x"})

    async def submit_ten() -> list[httpx.Response]:
        async with client_of(app) as client:
            return await asyncio.gather(*(client.post(PATH, json=body, headers=headers) for _ in range(10)))

    responses = asyncio.run(submit_ten())
    assert [r.status_code for r in responses] == [200] * 10
    entries = [r.json()["entry"] for r in responses]
    assert all(e == entries[0] for e in entries)
    with Session(committed_engine) as session:
        assert session.exec(select(func.count()).select_from(EventSubmission)).one() == 1
        assert session.exec(select(func.count()).select_from(SignpostEvent)).one() == 2
