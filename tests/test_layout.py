"""Guards for the two verified layout traps."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_fhir_folder_holds_no_python() -> None:
    assert not [p for p in (ROOT / "fhir").rglob("*.py")]


def test_alembic_folder_is_not_a_package() -> None:
    assert not (ROOT / "alembic" / "__init__.py").exists()


def test_fhir_resources_resolves_to_the_installed_library() -> None:
    import fhir.resources

    assert "site-packages" in (fhir.resources.__file__ or "")


def test_fhir_folder_resources_are_json_named_by_type_and_id() -> None:
    import json

    for path in (ROOT / "fhir").glob("*"):
        assert path.suffix == ".json", path
        resource = json.loads(path.read_text())
        assert path.stem == f"{resource['resourceType']}-{resource['id']}"
