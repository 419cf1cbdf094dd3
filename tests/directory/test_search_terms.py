"""Each full-text row's term words (`service_search.terms`) say what the service's taxonomy links say, through every
writer of that row, so a category search with words finds what the words and the category find apart."""

from sqlmodel import Session, col, select

from signpost.directory import categorise, fulltext, importer
from signpost.directory import service as directory
from signpost.directory.models import ServiceSearch, ServiceTaxonomy, TaxonomyTerm
from signpost.directory.schemas import ServicePatch
from signpost.directory.search import ServiceQuery, search_services
from tests.directory.factories import load_categories, make_service, token
from tests.openreferral.factories import oruk_service


def _import(session: Session, records: list[dict]) -> None:  # type: ignore[type-arg]
    report = importer.ImportReport(source="test", format="oruk3")
    importer.import_records(session=session, records=records, report=report, actor="test")


def _crosswalked(word: str, term_id: str, code: str, name: str) -> dict:  # type: ignore[type-arg]
    term = {"id": term_id, "code": code, "term": name, "taxonomy": "esdServiceTypes"}
    return oruk_service(name=f"{word} {name}", attributes=[{"id": f"a-{term_id}", "taxonomy_term": term}])


def _ids(session: Session, **query: object) -> set[str]:
    return {hit.service.id for hit in search_services(session=session, query=ServiceQuery(limit=100, **query)).hits}  # type: ignore[arg-type]


def _assert_terms_follow_links(session: Session, word: str) -> None:
    """The term words of every service this test made (its names hold `word`) are those of its links."""
    session.flush()
    rows = dict(
        session.exec(
            select(ServiceSearch.service_id, ServiceSearch.terms).where(col(ServiceSearch.name).contains(word))
        ).all()
    )
    assert rows
    linked: dict[str, list[str]] = {sid: [] for sid in rows}
    for service_id, term_id in session.exec(
        select(ServiceTaxonomy.service_id, ServiceTaxonomy.taxonomy_term_id)
        .join(TaxonomyTerm, col(TaxonomyTerm.id) == ServiceTaxonomy.taxonomy_term_id)
        .where(col(ServiceTaxonomy.service_id).in_(list(rows)))
    ).all():
        linked[service_id].append(term_id)
    assert rows == {sid: fulltext.term_words(ids) for sid, ids in linked.items()}


def test_term_words_follow_edits_imports_and_categorise(session: Session) -> None:
    load_categories(session)
    word = token()
    made = make_service(session, name=f"{word} hub", categories=["debt"])
    edited = make_service(session, name=f"{word} centre", categories=["food", "housing"])
    directory.update_service(
        session=session,
        service_id=edited.id,
        data=ServicePatch.model_validate({"categories": ["carers"]}),
        actor="t",
        expected_version=edited.version,
    )
    _assert_terms_follow_links(session, word)
    debt = _crosswalked(word, "lgsl-651", "651", "Debt counselling")
    homeless = _crosswalked(word, "lgsl-112", "112", "Homelessness support")
    untagged = oruk_service(
        name=f"{word} tea dance", description="A friendly tea dance: meet new people.", attributes=[]
    )
    unmapped = {"id": "test-zyx", "code": "zyx", "term": "Zyx", "taxonomy": "test"}  # a feed's term, no category
    plain = oruk_service(name=f"{word} qwerty", description="Zyx.", attributes=[{"id": "a", "taxonomy_term": unmapped}])
    _import(session, [debt, homeless, untagged, plain])
    _assert_terms_follow_links(session, word)
    _import(session, [{**debt, "description": "Debt advice, now on Saturdays too."}])  # derived links stay
    categorise.decide(session=session, decisions=[(untagged["id"], "isolation")], accept=True, actor="t")
    suggested = set(
        session.exec(
            select(TaxonomyTerm.code)
            .join(ServiceTaxonomy, col(ServiceTaxonomy.taxonomy_term_id) == TaxonomyTerm.id)
            .where(ServiceTaxonomy.service_id == untagged["id"], ServiceTaxonomy.origin == "suggested")
        ).all()
    )
    categorise.decide(session=session, decisions=[(untagged["id"], c) for c in suggested], accept=False, actor="t")
    categorise.recategorise(session=session, actor="t")
    session.flush()

    _assert_terms_follow_links(session, word)

    mine = _ids(session, text=word)
    assert {made.id, edited.id, debt["id"], homeless["id"], untagged["id"]} <= mine
    for category in ("debt", "food", "housing", "carers", "homelessness", "isolation"):
        both = _ids(session, text=word, categories=[category])
        assert both == mine & _ids(session, categories=[category]), category
    assert _ids(session, text=word, categories=["debt"]) == {made.id, debt["id"]}
    assert _ids(session, text=word, categories=["food"]) == set()
    assert _ids(session, text=word, categories=["isolation", "homelessness"]) == {untagged["id"], homeless["id"]}


def test_a_searcher_cannot_match_the_term_words(session: Session) -> None:
    service = make_service(session, name=f"{token()} hub", categories=["debt"])
    term_id = session.exec(
        select(ServiceTaxonomy.taxonomy_term_id).where(ServiceTaxonomy.service_id == service.id)
    ).one()
    for typed in (fulltext.term_word(term_id), "zzt", "zz"):
        assert service.id not in _ids(session, text=typed)


def test_a_term_word_is_one_word_that_no_stemming_changes() -> None:
    assert fulltext.term_word("3f59fa83-27FF-52ac-9663-bdf853fd46ed") == "zzt3f59fa8327ff52ac9663bdf853fd46edzz"
    assert fulltext.term_words(["b-1", "a-1", "b-1"]) == "zzta1zz zztb1zz"
