"""`signpost serve` (what `make serve` and production workers run) serves on uvloop and httptools."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from bench.common import free_port
from tests.web.conftest import wait_until_up


def _loaded_extensions(pid: int) -> str:
    """The shared objects mapped into a process: which compiled modules it has loaded."""
    return Path(f"/proc/{pid}/maps").read_text()


def test_serve_answers_on_uvloop_and_httptools(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SIGNPOST_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "SIGNPOST_VAR_DIR": str(tmp_path),
        "SIGNPOST_SECRET_KEY": "serve-test-secret",
        "SIGNPOST_LOG_LEVEL": "WARNING",
    }
    script = Path(sys.executable).with_name("signpost")
    proc = subprocess.Popen(
        [str(script), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, seconds=120)
        maps = _loaded_extensions(proc.pid)
        assert "uvloop" in maps and "httptools" in maps
        # uvicorn names the loop it runs on nowhere in its answers; the modules it loaded say it.
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
