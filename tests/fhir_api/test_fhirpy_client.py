"""fhirpy, a FHIR client this project did not write, against the real app served by uvicorn on loopback."""

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fhirpy import SyncFHIRClient
from sqlalchemy import Engine
from sqlmodel import Session

from signpost.app import create_app
from signpost.config import Settings, request_settings
from tests.directory.factories import make_service, token
from tests.factories import make_key

WORD = token()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fhir_client(settings: Settings, committed_engine: Engine) -> Iterator[SyncFHIRClient]:
    """A fhirpy client of the app under uvicorn, on a committed database holding seven services."""
    with Session(committed_engine) as session:
        for i in range(5):
            make_service(session, name=f"{WORD} Debt Advice {i}", categories=["debt"])
        make_service(session, name=f"{WORD} Food Bank", categories=["food"])
        make_service(session, name=f"{WORD} Food and Debt Help", categories=["food", "debt"])
        key = make_key(session, "clinician", practice_ods="B86001")
        session.commit()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    url = committed_engine.url.render_as_string(hide_password=False)
    # The links the client follows come from the configured public base, so it names this server.
    served_settings = settings.model_copy(update={"database_url": url, "public_base_url": base})
    app = create_app(served_settings)

    app.state.engine = committed_engine  # the test's own engine on the database the settings name
    app.dependency_overrides[request_settings] = lambda: served_settings
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield SyncFHIRClient(f"{base}/fhir", authorization=f"Bearer {key}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_fhirpy_searches_with_modifiers_ids_paging_and_counts(fhir_client: SyncFHIRClient) -> None:
    services = fhir_client.resources("HealthcareService")
    mine = services.search(name=WORD)
    assert mine.count() == 7  # _summary=count
    contains = mine.search(name__contains="food").fetch_all()
    assert sorted(s["name"] for s in contains) == [f"{WORD} Food Bank", f"{WORD} Food and Debt Help"]
    exact = services.search(name__exact=f"{WORD} Food Bank").fetch_all()
    assert [s["name"] for s in exact] == [f"{WORD} Food Bank"]
    not_debt = mine.search(**{"service-category:not": "debt"}).fetch_all()
    assert [s["name"] for s in not_debt] == [f"{WORD} Food Bank"]
    paged = mine.limit(2).fetch_all()  # _count=2, following each `next` link the server wrote
    assert len(paged) == 7 and len({s["id"] for s in paged}) == 7
    first = paged[0]
    by_id = services.search(_id=first["id"]).fetch_all()
    assert [s["id"] for s in by_id] == [first["id"]]
    read = services.get(first["id"])
    assert read["meta"]["versionId"] == first["meta"]["versionId"]
    both = mine.search(**{"service-category": ["debt", "food"]}).fetch_all()  # repeated: AND
    assert [s["name"] for s in both] == [f"{WORD} Food and Debt Help"]
