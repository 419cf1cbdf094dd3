"""Pages: signed-in page loads under concurrency (directory search, the template form, analytics).

A fresh SQLite database with the starter content and one user per role; a real server on loopback.
SIGNPOST_BENCH_WEB_SECONDS (default 5) per page, SIGNPOST_BENCH_WEB_CONNECTIONS (default 16).
"""

import os
import re
import tempfile
from pathlib import Path

import httpx

from bench.common import Row, load, server

SECONDS = int(os.environ.get("SIGNPOST_BENCH_WEB_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("SIGNPOST_BENCH_WEB_CONNECTIONS", "16"))
PASSWORD = "benchmark password"
PAGES = [
    ("prescriber", "/directory?text=debt&search=1", "page: directory search 'debt'"),
    ("clinician", "/template", "page: template form"),
    ("analyst", "/analytics", "page: analytics (5 reports, 3 SVG charts)"),
]


def _prepare(folder: Path) -> str:
    from rich.console import Console
    from sqlmodel import Session

    from signpost import db
    from signpost.auth import users
    from signpost.bootstrap import starter_loaders
    from signpost.config import Settings

    url = f"sqlite:///{folder / 'web.db'}"
    db.upgrade(url)
    settings = Settings(database_url=url, var_dir=folder, secret_key="bench")
    with Session(db.make_engine(url)) as session:
        for loader in starter_loaders():
            loader(session, settings, Console(quiet=True))
        for role in {p[0] for p in PAGES}:
            users.create_user(session=session, username=f"{role}-bench", password=PASSWORD, role=role)
        session.commit()
    return url


def _cookie(base: str, role: str) -> str:
    with httpx.Client(base_url=base.replace("127.0.0.1", "localhost")) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text)
        assert token
        client.post("/sign-in", data={"csrf_token": token.group(1), "username": f"{role}-bench", "password": PASSWORD})
        return f"signpost_session={client.cookies['signpost_session']}"


def run(context: dict) -> list[Row]:  # type: ignore[type-arg]
    folder = Path(tempfile.mkdtemp(prefix="signpost-bench-web-"))
    url = _prepare(folder)
    env = {"SIGNPOST_DATABASE_URL": url, "SIGNPOST_VAR_DIR": str(folder), "SIGNPOST_SECRET_KEY": "bench"}
    rows = []
    with server("signpost.app:create_app", env=env) as base:
        for role, path, name in PAGES:
            cookie = _cookie(base, role)
            assert httpx.get(base + path, headers={"Cookie": cookie}).status_code == 200, f"{path} is not served"
            result = load(base + path, headers={"Cookie": cookie}, connections=CONNECTIONS, seconds=SECONDS)
            rows.append(Row(f"{name}, {CONNECTIONS} conns", result.figures()))
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run({}))
