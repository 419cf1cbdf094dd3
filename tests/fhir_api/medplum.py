"""Medplum's FHIR R4 validator (an independent implementation, run under Node) as a test helper."""

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from signpost.config import ROOT

SCRIPT = Path(__file__).with_name("validate.mjs")
PACKAGE = ROOT / "node_modules" / "@medplum" / "core" / "package.json"


def version() -> str:
    return json.loads(PACKAGE.read_text())["version"]


def require() -> None:
    """Skip, saying why, where the validator cannot run (CI installs it with `make test`)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the Medplum FHIR validator needs it")
    if not PACKAGE.exists():
        pytest.skip("node_modules/@medplum/core is missing: run `make node_modules/.installed`")


def validate(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each resource's errors and warnings as Medplum reports them (structure, cardinality, formats, invariants)."""
    require()
    done = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(resources).encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return json.loads(done.stdout)


def count_by_type(resources: list[dict[str, Any]]) -> Counter[str]:
    """Resources by type, counting those inside Bundles and Parameters too (the validator checks them as well)."""
    counts: Counter[str] = Counter()

    def walk(resource: dict[str, Any]) -> None:
        counts[resource["resourceType"]] += 1
        for entry in resource.get("entry", []):
            if "resource" in entry:
                walk(entry["resource"])
        for parameter in resource.get("parameter", []) if resource["resourceType"] == "Parameters" else []:
            if "resource" in parameter:
                walk(parameter["resource"])
        for contained in resource.get("contained", []):
            walk(contained)

    for resource in resources:
        walk(resource)
    return counts
