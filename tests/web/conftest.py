"""Browser tests: the real app under uvicorn on loopback, driven by headless Chromium through Playwright.

The server runs in another process, so it cannot share the rolled-back test session: it gets its own
temporary SQLite database, migrated and seeded (committed) here before it starts.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from signpost import db

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("SIGNPOST_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
NHSUK_CSS = ROOT / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk" / "nhsuk-frontend.min.css"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
ROLES = ("clinician", "prescriber", "editor", "analyst", "admin")


def _missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not AXE.is_file() or not NHSUK_CSS.is_file():
        return "node_modules is missing (npm ci)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason:
        for item in items:
            if "tests/web/browser" in str(item.fspath).replace(os.sep, "/"):
                item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {reason}"))


@dataclass
class LiveServer:
    base_url: str
    database_url: str
    keys: dict[str, str]

    def session(self) -> Session:
        return Session(db.make_engine(self.database_url))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(database_url: str, folder: Path) -> dict[str, str]:
    """Starter content (what `make serve` loads), plus a user and a key for every role."""
    from rich.console import Console

    from signpost.auth import service as keys
    from signpost.auth import users
    from signpost.bootstrap import starter_loaders
    from signpost.config import Settings

    settings = Settings(database_url=database_url, var_dir=folder / "var", secret_key="browser-test-secret")
    engine = db.make_engine(database_url)
    made: dict[str, str] = {}
    with Session(engine) as session:
        for loader in starter_loaders():
            loader(session, settings, Console(quiet=True))
            session.commit()
        for role in ROLES:
            users.create_user(
                session=session,
                username=f"{role}1",
                password=PASSWORD,
                role=role,
                practice_ods="B86001" if role == "clinician" else None,
            )
            _, made[role] = keys.create_key(
                session=session, role=role, name=f"{role} key", practice_ods="B86001" if role == "clinician" else None
            )
        session.commit()
    engine.dispose()
    return made


def _live_database(folder: Path, suffix: str = "_browser") -> str:
    """A committed database of its own: SQLite in a temporary folder, or, when the suite runs on PostgreSQL,
    a fresh `<test database><suffix>` beside the test database (the rolled-back test session cannot be shared)."""
    url = os.environ.get("SIGNPOST_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{folder / 'live.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(db.normalise_url(url))
    name = f"{parsed.database}{suffix}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@contextmanager
def serving(folder: Path, *, database_suffix: str = "_browser", **environment: str) -> Iterator[LiveServer]:
    """The app served by uvicorn in a subprocess on a free loopback port, on its own seeded database; its
    stderr (the logs) goes to `folder/server.log`. `environment` adds SIGNPOST_ settings (PORT picks the port)."""
    database_url = _live_database(folder, database_suffix)
    port = int(environment.pop("PORT", 0)) or _free_port()
    env = {
        **os.environ,
        "SIGNPOST_DATABASE_URL": database_url,
        "SIGNPOST_VAR_DIR": str(folder / "var"),
        "SIGNPOST_SECRET_KEY": "browser-test-secret",
        "SIGNPOST_ENVIRONMENT": "development",
        "SIGNPOST_LOG_LEVEL": "WARNING",
        **environment,
    }
    db.upgrade(database_url)
    made = _seed(database_url, folder)
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "signpost.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stderr=log if environment else None,
    )
    base_url = f"http://localhost:{port}"
    try:
        wait_until_up(base_url + "/healthz", process)
        yield LiveServer(base_url=base_url, database_url=database_url, keys=made)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:  # type: ignore[type-arg]
    """Poll `url` until it answers 200; fail if the process stops or it takes more than `seconds`."""
    for _ in range(int(seconds / 0.2)):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError("the server stopped while starting")
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served by uvicorn in a subprocess on a free loopback port, on its own seeded database."""
    with serving(tmp_path_factory.mktemp("live")) as server:
        yield server


# Package scope: Playwright's sync API keeps an event loop running in the main thread until it stops, and a later
# test that runs one of its own there (asyncio.run, anyio.run) would fail.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Browsing:
    """One browser context (one person's browser) with the checks every page gets."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.console_errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))

    def go(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def sign_in(self, role: str) -> None:
        self.go("/sign-in")
        self.page.fill("#username", f"{role}1")
        self.page.fill("#password", PASSWORD)
        self.page.click("button:has-text('Sign in')")
        self.page.wait_for_load_state()

    def check(self, name: str) -> None:
        """Screenshot the page into test-artifacts/, scan it with axe-core, and refuse CSP violations."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        # evaluate() runs through the DevTools protocol, so the page's strict CSP does not block axe.
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(result["violations"], indent=1))
        assert not bad, f"accessibility violations on {name}: {bad}"
        csp = [e for e in self.console_errors if "Content Security Policy" in e]
        assert not csp, f"CSP violations on {name}: {csp}"


@pytest.fixture
def browsing(browser: Any, live_server: LiveServer) -> Iterator[Browsing]:
    context = browser.new_context(base_url=live_server.base_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield Browsing(page, live_server.base_url)
    finally:
        context.close()


@pytest.fixture
def local(app) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The app in-process for page tests: a localhost origin (cookies, CSRF) and errors answered as pages."""
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as client:
        yield client
