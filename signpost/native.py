"""`$signpost`'s hot modules compiled to C with mypyc, used only when built from exactly the source beside them.

`native.build()` (run by `make serve` and `make test`) compiles the modules in HOT into `build/native`
with a manifest of the source tree's digest. On import, `signpost` calls `install()`: when that digest matches the
source now on disk (and this Python can load the build), imports of those modules load the compiled ones; otherwise
(no build, an edit since, another Python, SIGNPOST_PURE_PYTHON=1) the same modules run as plain Python. The compiled
code is the same source, type-checked by mypy, and does about a fifth fewer instructions a request (bench/README.md).
It behaves the same but for one thing: a value that contradicts its annotation raises TypeError where Python would
carry on, so the annotations must tell the truth (the suite runs on the build; tests/test_native.py compares the two).
"""

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
OUT = ROOT / "build" / "native"
MANIFEST = OUT / "manifest.json"
GROUP = "signpost_native"  # mypyc's shared library for the group: signpost_native__mypyc
# Plain Python loops over dicts and small objects, run by every `$signpost` request.
HOT = (
    "signpost.template.structure",
    "signpost.template.validation",
    "signpost.template.needs",
    "signpost.template.extract",
    "signpost.routing.service",
    "signpost.routing.leaflet",
    "signpost.flows.signposting",
    "signpost.fhir_api.signposting",
    "signpost.events.recorder",
    "signpost.remember",
    "signpost.template.conformance",
)


def source_digest() -> str:
    """SHA-256 over every Python file of the package, by path: compiled code also trusts the types of what it calls."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _suffix() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the compiled module for each name it holds; every other name is left to the usual finders."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        found = self.files.get(fullname)
        if found is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(found))
        return importlib.util.spec_from_file_location(fullname, found, loader=loader)


def installed() -> bool:
    """Whether imports of the hot modules load the compiled build."""
    return any(isinstance(finder, _Finder) for finder in sys.meta_path)


def install() -> bool:
    """Load the hot modules compiled from now on if the build is current; whether it is."""
    if installed():
        return True
    if os.environ.get("SIGNPOST_PURE_PYTHON") == "1":
        return False
    files = current_build()
    if files is None or any(name in sys.modules for name in HOT):  # too late: one already runs as Python
        return False
    sys.meta_path.insert(0, _Finder(files))
    return True


def current_build() -> dict[str, Path] | None:
    """Each compiled module's file, when the build in OUT is of the source on disk and for this Python; else None."""
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("suffix") != _suffix() or manifest.get("digest") != source_digest():
        return None
    files = {name: OUT / relative for name, relative in manifest.get("files", {}).items()}
    if set(files) != {*HOT, f"{GROUP}__mypyc"} or not all(path.is_file() for path in files.values()):
        return None
    return files


_SETUP = """
import sys
from mypyc.build import mypycify
from setuptools import setup

modules = sys.argv[1:-2]
setup(
    name="signpost-native",
    py_modules=[],
    ext_modules=mypycify(modules, opt_level="3", group_name=sys.argv[-2], target_dir=sys.argv[-1]),
    script_args=["build_ext", "--build-lib", sys.argv[-1], "--build-temp", sys.argv[-1] + "/temp"],
)
"""


def build() -> bool:
    """Compile HOT into OUT (about a minute); whether it worked. A failure leaves no manifest: plain Python runs."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        print("signpost.native: no C compiler, so the hot modules run as plain Python", file=sys.stderr)
        return False
    digest = source_digest()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    sources = [str(Path(*name.split(".")).with_suffix(".py")) for name in HOT]
    print(f"signpost.native: compiling {len(HOT)} modules with mypyc (about a minute) …", file=sys.stderr)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _SETUP, *sources, GROUP, str(OUT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SIGNPOST_PURE_PYTHON": "1"},
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        print(f"signpost.native: mypyc failed, so the hot modules run as plain Python:\n{tail}", file=sys.stderr)
        return False
    files = {name: f"{name.replace('.', '/')}{_suffix()}" for name in HOT}
    files[f"{GROUP}__mypyc"] = f"{GROUP}__mypyc{_suffix()}"
    missing = [relative for relative in files.values() if not (OUT / relative).is_file()]
    if missing:
        print(f"signpost.native: mypyc made no {', '.join(missing)}: plain Python runs", file=sys.stderr)
        return False
    if source_digest() != digest:
        print("signpost.native: the source changed meanwhile: plain Python runs until the next build", file=sys.stderr)
        return False
    MANIFEST.write_text(json.dumps({"digest": digest, "suffix": _suffix(), "files": files}, indent=1))
    print(f"signpost.native: compiled in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return True
