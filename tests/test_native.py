"""The compiled hot modules (signpost/native.py): loaded only when built from this very source, and alike in answer."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from signpost import native

ROOT = Path(__file__).resolve().parents[1]
PURE = {"SIGNPOST_PURE_PYTHON": "1"}


def _python(code: str, env: dict[str, str] | None = None) -> str:
    """Run `code` in a new interpreter (imports start afresh there) and return what it printed."""
    environment = {k: v for k, v in os.environ.items() if k != "SIGNPOST_PURE_PYTHON"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**environment, **(env or {})}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _fake_build(folder: Path, digest: str) -> None:
    """A manifest naming files that exist, as a real build leaves them, over `digest`."""
    files = {name: f"{name}.so" for name in (*native.HOT, f"{native.GROUP}__mypyc")}
    for relative in files.values():
        (folder / relative).write_bytes(b"")
    manifest = {"digest": digest, "suffix": native._suffix(), "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def build_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(native, "OUT", tmp_path)
    monkeypatch.setattr(native, "MANIFEST", tmp_path / "manifest.json")
    return tmp_path


def test_a_build_of_this_source_is_used(build_folder: Path) -> None:
    _fake_build(build_folder, native.source_digest())
    found = native.current_build()
    assert found is not None and set(found) == {*native.HOT, f"{native.GROUP}__mypyc"}


def test_a_build_of_other_source_is_not_used(build_folder: Path) -> None:
    _fake_build(build_folder, "0" * 64)  # as after any edit to the source since the build
    assert native.current_build() is None


def test_a_build_missing_a_module_is_not_used(build_folder: Path) -> None:
    _fake_build(build_folder, native.source_digest())
    (build_folder / f"{native.HOT[0]}.so").unlink()
    assert native.current_build() is None


def test_no_build_at_all_is_not_used(build_folder: Path) -> None:
    assert native.current_build() is None


def test_any_change_to_the_source_changes_its_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, text in {"a.py": "x = 1\n", "b/c.py": "y = 2\n"}.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(native, "PACKAGE", tmp_path)
    before = native.source_digest()
    (tmp_path / "b" / "c.py").write_text("y = 3\n")
    assert native.source_digest() != before


def test_plain_python_runs_when_asked() -> None:
    out = _python("import signpost.template.validation as v; print(v.__file__)", PURE)
    assert out.strip().endswith("validation.py")


def _built() -> bool:
    return native.MANIFEST.is_file() and json.loads(native.MANIFEST.read_text())["digest"] == native.source_digest()


# `make test` builds them first; where mypyc cannot run (no C compiler), plain Python runs and this says so.
needs_build = pytest.mark.skipif(not _built(), reason="no current build of the hot modules (make builds it)")


@needs_build
def test_the_hot_modules_load_compiled_when_built() -> None:
    code = "import importlib, signpost; print([importlib.import_module(m).__file__ for m in signpost.native.HOT])"
    files = _python(code)
    assert files.count(native._suffix()) == len(native.HOT), files


# What the compiled modules are given: a valid response and bad ones, each through validation, needs and the record.
_ANSWERS = """
import json, sys
from bench.signpost import realistic_response
from signpost.template import assess, observations, validate

good = realistic_response()["parameter"][0]["resource"]
bad_value = json.loads(json.dumps(good)); bad_value["item"][3]["answer"] = [{"valueCoding": {"code": "nonsense"}}]
bad_shape = json.loads(json.dumps(good)); bad_shape["item"][0] = {"linkId": 5, "answer": "yes"}
missing = json.loads(json.dumps(good)); del missing["item"][13]
unknown = json.loads(json.dumps(good))
unknown["item"].append({"linkId": "made-up", "answer": [{"valueBoolean": True}]})
found = []
for response in (good, bad_value, bad_shape, missing, unknown, {"resourceType": "QuestionnaireResponse"}, []):
    checked, issues = validate(response)
    result = {"issues": issues}
    if checked is not None:
        assessment = assess(checked)
        result["needs"] = [(n.code, n.urgent) for n in assessment.needs]
        result["observations"] = [o["code"] for o in observations(checked.response, assessment)]
    found.append(result)
print(json.dumps(found, sort_keys=True, default=str))
"""


@needs_build
def test_compiled_and_plain_python_answer_alike() -> None:
    compiled, plain = _python(_ANSWERS), _python(_ANSWERS, PURE)
    assert compiled == plain
    assert len(json.loads(compiled)[0]["needs"]) >= 4  # the realistic response's needs were found at all


# Made many times a request, each with an `__init__` of its own: compiled, the one @dataclass writes stays interpreted
# Python (bench/README.md, "Dataclasses' own constructors").
MADE_OFTEN = [
    "signpost.routing.service:Match",
    "signpost.routing.service:Offer",
    "signpost.routing.service:_Fit",
    "signpost.routing.service:_Scored",
    "signpost.routing.leaflet:Contact",
    "signpost.routing.leaflet:Entry",
    "signpost.routing.leaflet:Section",
    "signpost.template.needs:Need",
]


@pytest.mark.parametrize("name", MADE_OFTEN)
def test_what_a_request_makes_many_of_has_its_own_init(name: str) -> None:
    module, _, class_name = name.partition(":")
    init = getattr(importlib.import_module(module), class_name).__init__
    written_by = getattr(getattr(init, "__code__", None), "co_filename", "")  # compiled code has no __code__
    assert written_by != "<string>", f"{name} has the __init__ that @dataclass wrote (exec'd from a string)"
