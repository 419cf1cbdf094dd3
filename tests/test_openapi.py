"""openapi.yaml is generated from the app and committed; it must match."""

from pathlib import Path

import yaml

from signpost.app import create_app

ROOT = Path(__file__).resolve().parents[1]


def test_openapi_yaml_matches_the_app(settings) -> None:  # type: ignore[no-untyped-def]
    committed = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    live = create_app(settings).openapi()
    assert committed == yaml.safe_load(yaml.safe_dump(live)), "run `make openapi` and commit openapi.yaml"


def test_operation_ids_are_unique_and_named(settings) -> None:  # type: ignore[no-untyped-def]
    spec = create_app(settings).openapi()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all("__" not in i for i in ids), "give every route an explicit operation_id"
