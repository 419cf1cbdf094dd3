"""A fresh install with no ../shared: the Leeds starter geography shipped in the package places real postcodes."""

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from sqlmodel import Session, select

from signpost.events.models import SignpostEvent
from signpost.geography import packaged
from signpost.geography import service as geography
from signpost.geography.starter import load_starter_geography, starter_files
from tests.directory import factories as directory_factories
from tests.factories import bearer, make_key
from tests.template.builders import make_response

PATH = "/fhir/QuestionnaireResponse/$signpost"


def _load_packaged(session: Session, settings: Any, tmp_path: Path) -> str:
    nowhere = settings.model_copy(update={"geography_data_dir": tmp_path / "no-shared-data"})
    console = Console(record=True, width=200)
    load_starter_geography(session, nowhere, console)
    session.flush()
    return console.export_text()


def test_the_package_ships_every_starter_file_gzipped_and_small() -> None:
    files = starter_files(packaged.folder())
    assert [kind for kind, _ in files] == ["lsoa-ward", "imd", "ward-population", "ward-crosswalk", "nspl"]
    assert all(path.suffix == ".gz" for _, path in files)
    assert sum(path.stat().st_size for _, path in files) < 400_000
    attribution = (packaged.folder() / "README.md").read_text()
    assert "Open Government Licence v.3.0" in attribution and "Royal Mail copyright" in attribution


def test_without_shared_data_ls9_7tf_is_burmantofts_decile_1(session: Session, settings: Any, tmp_path: Path) -> None:
    said = _load_packaged(session, settings, tmp_path)
    assert "Leeds starter geography shipped with Signpost" in said
    place = geography.resolve(session, "LS9 7TF")
    assert place.known and place.ward_name == "Burmantofts & Richmond Hill"
    assert (place.imd_decile, place.imd_year) == (1, 2019)
    assert place.latitude is not None and abs(place.latitude - 53.806869) < 1e-6


def test_a_postcode_newer_than_the_lsoa_extract_still_gives_a_distance(
    session: Session, settings: Any, tmp_path: Path
) -> None:
    _load_packaged(session, settings, tmp_path)
    place = geography.resolve(session, "BD11 1AF")  # live in Code-Point Oct 2025, no LSOA in NSPL Aug 2024
    assert place.known and place.lsoa_code is None and place.imd_decile is None
    assert place.latitude is not None and place.longitude is not None
    here = geography.resolve(session, "LS9 7TF")
    assert here.latitude is not None and here.longitude is not None
    km = geography.distance_km(place.latitude, place.longitude, here.latitude, here.longitude)
    assert 9 < km < 15


def test_signpost_records_ward_and_decile_and_search_measures_distance_without_shared_data(
    client: TestClient, session: Session, settings: Any, tmp_path: Path
) -> None:
    _load_packaged(session, settings, tmp_path)
    word = directory_factories.token()
    for name, (lat, lon) in {"St James": (53.8085, -1.5206), "Otley": (53.9050, -1.6930)}.items():  # 0.2, 16 km
        directory_factories.make_service(
            session,
            name=f"{name} Lunch Club {word}",
            categories=["isolation"],
            delivery_modes=["in_person"],
            locations=[{"name": name, "latitude": lat, "longitude": lon}],
        )
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "response", "resource": make_response({"isolation": [True]}, identifier={"value": "ls9-7tf"})},
            {"name": "postcode", "valueString": "LS9 7TF"},
        ],
    }
    headers = {"Content-Type": "application/fhir+json", **bearer(make_key(session, "clinician", practice_ods="B86001"))}
    answer = client.post(PATH, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    event = session.exec(select(SignpostEvent).order_by(SignpostEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None
    wards = {w.code: w.name for w in geography.list_wards(session)}
    assert wards.get(event.ward_code or "") == "Burmantofts & Richmond Hill" and event.imd_decile == 1
    found = client.get(
        "/api/v1/directory/search",
        params={"postcode": "LS9 7TF", "radius_km": 3, "text": word},
        headers=bearer(make_key(session, "prescriber")),
    )
    assert found.status_code == 200, found.text
    hits = {hit["name"].split(" Lunch")[0]: hit for hit in found.json()["hits"]}
    assert list(hits) == ["St James"] and hits["St James"]["distance_km"] < 1
