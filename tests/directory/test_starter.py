"""Starter content: categories with LGSL ids, unverified starter services, idempotent loading."""

import json

from sqlmodel import select

from signpost.config import data_dir
from signpost.directory import starter
from signpost.directory.models import Service, TaxonomyTerm
from tests.factories import bearer, make_key

CATEGORIES = {
    "housing", "homelessness", "welfare-benefits", "debt", "fuel-energy", "food", "employment", "carers",
    "isolation", "family-early-years", "domestic-abuse", "legal-immigration", "digital-inclusion",
    "language-interpreting",
    # Social-prescribing categories, for what real feeds hold beyond advice services (issue #19).
    "physical-activity", "arts-culture", "mental-health", "health-disability", "learning", "young-people",
}  # fmt: skip


def test_taxonomy_file_holds_exactly_the_shared_categories() -> None:
    terms = json.loads((data_dir("directory") / "taxonomy.json").read_text())["taxonomy_terms"]
    assert {t["code"] for t in terms} == CATEGORIES


def test_every_starter_record_is_unverified_and_uses_known_categories() -> None:
    records = json.loads((data_dir("directory") / "services.json").read_text())["services"]
    assert records
    for record in records:
        assert "assured_date" not in record
        assert {a["taxonomy_term"]["code"] for a in record["attributes"]} <= CATEGORIES


def test_loading_twice_creates_nothing_the_second_time(session) -> None:  # type: ignore[no-untyped-def]
    starter.load(session=session)
    count = len(session.exec(select(Service)).all())
    second = starter.load(session=session)
    assert second.services_created == 0 and second.terms_created == 0
    assert len(session.exec(select(Service)).all()) == count


def test_categories_carry_their_lgsl_ids(session) -> None:  # type: ignore[no-untyped-def]
    starter.load_taxonomy(session=session)
    debt = session.exec(select(TaxonomyTerm).where(TaxonomyTerm.code == "debt")).one()
    assert debt.lgsl_ids == ["651", "352"]


def test_starter_services_show_as_unverified(client, session) -> None:  # type: ignore[no-untyped-def]
    starter.load(session=session)
    headers = bearer(make_key(session, "prescriber"))
    body = client.get("/api/v1/directory/search", params={"text": "Shelter helpline"}, headers=headers).json()
    assert body["hits"][0]["verification"]["state"] == "unverified"
