"""Categories for services from what feeds carry (crosswalks) and, failing that, from what services say (suggestions).

A feed's own terms stay as the feed gave them (origin `given`). Each term whose vocabulary has a ConceptMap in
`fhir/` (`MAP_IDS`) adds the directory categories it maps to (origin `crosswalk`, with the map and term as
evidence). A service left with no category then gets the classifier's suggestions (origin `suggested`, with the
words that triggered them) until an editor confirms (`confirmed`) or rejects them; a rejected suggestion is
remembered and never made again. `categorise` is idempotent: it brings derived links in line with the maps and
rules of the moment, which is how a changed map is re-applied (`signpost directory recategorise`, and start-up
when a map's version or content changed).
"""

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlmodel import Session, col

from signpost.config import data_dir
from signpost.directory import classify, fulltext
from signpost.directory.models import (
    CategoryMap,
    CategoryOrigin,
    CategoryRejection,
    Organization,
    Service,
    ServiceAudit,
    ServiceSearch,
    ServiceTaxonomy,
    TaxonomyTerm,
    new_id,
)
from signpost.errors import Problem

CATEGORY_TAXONOMY = "service-category"
LGSL_MAP = "lgsl-to-service-category"
OPEN_ELIGIBILITY_MAP = "open-eligibility-to-service-category"
ORUK3_MAP = "oruk-taxonomy-term-to-service-category"
ORUK1_MAP = "oruk1-service-taxonomy-to-service-category"
MAP_IDS = (LGSL_MAP, OPEN_ELIGIBILITY_MAP, ORUK3_MAP, ORUK1_MAP)
CLASSIFIER = "classifier-rules"
CONFIRMED = (CategoryOrigin.given.value, CategoryOrigin.crosswalk.value, CategoryOrigin.confirmed.value)

# How feeds name the vocabularies that have a code map; any other vocabulary is matched by term name.
_LGSL = re.compile(r"lgsl|esd ?service|id\.esd\.org\.uk/service|local government service list", re.I)
_OPEN_ELIGIBILITY = re.compile(r"open ?eligibility", re.I)
_CHUNK = 500


# ---------------------------------------------------------------------------------------------------------------
# The maps


@dataclass(frozen=True)
class _Map:
    id: str
    version: str  # the ConceptMap's version and a digest of its content, so an edit is noticed either way
    targets: dict[str, tuple[str, ...]]


def _name_key(text: str) -> str:
    """Term names compare in lower case, '&' as 'and', without surrounding spaces or a final plural 's'."""
    key = re.sub(r"\s+", " ", text.lower().replace("&", " and ")).strip()
    return key[:-1] if key.endswith("s") and len(key) > 3 else key


@lru_cache(maxsize=8)
def _read_map(map_id: str, mtime_ns: int) -> _Map:
    raw = (data_dir("fhir") / f"ConceptMap-{map_id}.json").read_bytes()
    document = json.loads(raw)
    by_name = map_id in (ORUK3_MAP, ORUK1_MAP)
    targets: dict[str, list[str]] = {}
    for group in document.get("group", []):
        for element in group.get("element", []):
            key = _name_key(element["code"]) if by_name else element["code"].strip()
            for target in element.get("target", []):
                if target.get("equivalence") not in ("unmatched", "disjoint"):
                    codes = targets.setdefault(key, [])
                    if target["code"] not in codes:
                        codes.append(target["code"])
    version = f"{document.get('version', '')}+{hashlib.sha256(raw).hexdigest()[:12]}"
    return _Map(map_id, version, {k: tuple(v) for k, v in targets.items()})


def concept_map(map_id: str) -> _Map:
    """A category map from `fhir/`, read again whenever its file changes."""
    path = data_dir("fhir") / f"ConceptMap-{map_id}.json"
    return _read_map(map_id, path.stat().st_mtime_ns)


def versions() -> dict[str, str]:
    """The version of every map and of the classifier's rules, as recorded once applied."""
    return {map_id: concept_map(map_id).version for map_id in MAP_IDS} | {CLASSIFIER: classify.RULES_VERSION}


def crosswalk(*, vocabulary: str | None, code: str | None, name: str | None) -> list[tuple[str, str, str]]:
    """The directory categories a feed's term maps to, as (category code, map id, what was matched)."""
    vocabulary = vocabulary or ""
    if _LGSL.search(vocabulary) or (code or "").startswith("http://id.esd.org.uk/service/"):
        key = (code or "").rstrip("/").rsplit("/", 1)[-1]
        return [(c, LGSL_MAP, key) for c in concept_map(LGSL_MAP).targets.get(key, ())]
    if _OPEN_ELIGIBILITY.search(vocabulary):
        key = (code or "").strip()
        return [(c, OPEN_ELIGIBILITY_MAP, key) for c in concept_map(OPEN_ELIGIBILITY_MAP).targets.get(key, ())]
    found: list[tuple[str, str, str]] = []
    for map_id in (ORUK3_MAP, ORUK1_MAP):
        for text in (name, code):
            if text and (codes := concept_map(map_id).targets.get(_name_key(text))):
                found += [(c, map_id, text) for c in codes if all(c != f[0] for f in found)]
                break
    return found


# ---------------------------------------------------------------------------------------------------------------
# Applying them


@dataclass
class CategorisationReport:
    """How the services looked at got their categories."""

    services: int = 0
    by_feed: int = 0  # a category named by the feed itself (or set by an editor)
    by_crosswalk: int = 0  # none named, at least one through a map
    by_suggestion: int = 0  # only suggested (or confirmed suggestions)
    uncategorised: list[str] = field(default_factory=list)  # service ids
    links_added: int = 0
    links_removed: int = 0

    def summary(self) -> dict[str, Any]:
        """The figures as JSON-ready data, with the consequence spelled out."""
        return {
            "services": self.services,
            "by_feed": self.by_feed,
            "by_crosswalk": self.by_crosswalk,
            "by_suggestion": self.by_suggestion,
            "uncategorised": len(self.uncategorised),
            "uncategorised_ids": self.uncategorised[:200],
            "note": (
                (
                    "1 service has no category and will not be offered by the template or found by a category "
                    "search until an editor gives it one."
                    if len(self.uncategorised) == 1
                    else f"{len(self.uncategorised)} services have no category and will not be offered by the "
                    "template or found by a category search until an editor gives them one."
                )
                if self.uncategorised
                else "Every service has a category."
            ),
        }

    def add(self, other: "CategorisationReport") -> None:
        for name in ("services", "by_feed", "by_crosswalk", "by_suggestion", "links_added", "links_removed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.uncategorised += other.uncategorised


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def categorise(
    *, session: Session, service_ids: Iterable[str] | None = None, actor: str, reindex: set[str] | None = None
) -> CategorisationReport:
    """Bring crosswalked and suggested categories in line with the maps and rules (every service when no ids given).

    Set-wise per chunk of services; does not commit. Each service whose categories change gets an audit row and its
    full-text row refreshed, as do those in `reindex` (the importer's rewritten ones).
    """
    session.flush()
    connection = session.connection()
    if service_ids is None:
        ids = list(connection.scalars(select(col(Service.id)).order_by(col(Service.id))))
    else:
        ids = sorted(set(service_ids))
    categories = {
        code: term_id
        for term_id, code in connection.execute(
            select(col(TaxonomyTerm.id), col(TaxonomyTerm.code)).where(col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY)
        )
    }
    report = CategorisationReport()
    for chunk in _chunks(ids):
        report.add(_categorise_chunk(session, chunk, categories, actor, reindex or set()))
    return report


def _categorise_chunk(
    session: Session, ids: list[str], categories: dict[str, str], actor: str, reindex: set[str]
) -> CategorisationReport:
    connection = session.connection()
    report = CategorisationReport(services=len(ids))
    texts = {
        sid: (name, description, org)
        for sid, name, description, org in connection.execute(
            select(col(Service.id), col(Service.name), col(Service.description), col(Organization.name))
            .join(Organization, col(Organization.id) == col(Service.organization_id), isouter=True)
            .where(col(Service.id).in_(ids))
        )
    }
    links: dict[str, list[Any]] = {}
    for row in connection.execute(
        select(
            col(ServiceTaxonomy.id),
            col(ServiceTaxonomy.service_id),
            col(ServiceTaxonomy.origin),
            col(TaxonomyTerm.code),
            col(TaxonomyTerm.name),
            col(TaxonomyTerm.taxonomy),
        )
        .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTaxonomy.taxonomy_term_id))
        .where(col(ServiceTaxonomy.service_id).in_(ids))
    ):
        links.setdefault(row.service_id, []).append(row)
    code_of = {term_id: code for code, term_id in categories.items()}
    rejected: dict[str, set[str]] = {}
    for sid, term_id in connection.execute(
        select(col(CategoryRejection.service_id), col(CategoryRejection.taxonomy_term_id)).where(
            col(CategoryRejection.service_id).in_(ids)
        )
    ):
        rejected.setdefault(sid, set()).add(code_of.get(term_id, ""))

    removals: list[str] = []
    additions: list[dict[str, Any]] = []
    changed: dict[str, tuple[list[str], list[str]]] = {}
    for sid in ids:
        if sid not in texts:
            continue
        mine = links.get(sid, [])
        category_links = [r for r in mine if r.taxonomy == CATEGORY_TAXONOMY]
        held = {r.code: r for r in category_links}
        given = {r.code for r in category_links if r.origin == CategoryOrigin.given.value}
        confirmed = {r.code for r in category_links if r.origin == CategoryOrigin.confirmed.value}
        wanted_crosswalk: dict[str, list[dict[str, str]]] = {}
        for term in (r for r in mine if r.taxonomy != CATEGORY_TAXONOMY):
            for code, map_id, matched in crosswalk(vocabulary=term.taxonomy, code=term.code, name=term.name):
                if code in categories and code not in given:
                    wanted_crosswalk.setdefault(code, []).append({"map": map_id, "term": matched})
        wanted_suggested: dict[str, list[str]] = {}
        if not given and not wanted_crosswalk:
            name, description, org = texts[sid]
            for suggestion in classify.suggest(name=name, description=description, organization=org):
                code = suggestion.code
                if code in categories and code not in confirmed and code not in rejected.get(sid, set()):
                    wanted_suggested[code] = list(suggestion.words)
        before = sorted(held)
        for code, row in held.items():
            stale = (row.origin == CategoryOrigin.crosswalk.value and code not in wanted_crosswalk) or (
                row.origin == CategoryOrigin.suggested.value and code not in wanted_suggested
            )
            if stale:
                removals.append(row.id)
        for code, evidence in wanted_crosswalk.items():
            if code not in held or held[code].origin == CategoryOrigin.suggested.value:
                if code in held:
                    removals.append(held[code].id)
                additions.append(_link(sid, categories[code], CategoryOrigin.crosswalk, {"terms": evidence}))
        for code, words in wanted_suggested.items():
            if code not in held:
                additions.append(_link(sid, categories[code], CategoryOrigin.suggested, {"words": words}))
        after_codes = (given | confirmed | set(wanted_crosswalk) | set(wanted_suggested)) & set(categories)
        after_codes |= {
            c for c, r in held.items() if r.origin not in (CategoryOrigin.crosswalk, CategoryOrigin.suggested)
        }
        if before != sorted(after_codes):
            changed[sid] = (before, sorted(after_codes))
        if given:
            report.by_feed += 1
        elif wanted_crosswalk:
            report.by_crosswalk += 1
        elif confirmed or wanted_suggested:
            report.by_suggestion += 1
        else:
            report.uncategorised.append(sid)

    table = ServiceTaxonomy.__table__  # type: ignore[attr-defined]
    if removals:
        connection.execute(delete(table).where(table.c.id.in_(removals)))
    if additions:
        connection.execute(insert(table), additions)
    report.links_added, report.links_removed = len(additions), len(removals)
    if changed:
        _after_change(session, changed, actor)
    if stale_search := sorted((reindex & set(ids)) - changed.keys()):
        _refresh_search(session, stale_search)
    return report


def _link(service_id: str, term_id: str, origin: CategoryOrigin, evidence: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": new_id(),
        "service_id": service_id,
        "taxonomy_term_id": term_id,
        "origin": origin.value,
        "evidence": evidence,
    }


def _after_change(session: Session, changed: dict[str, tuple[list[str], list[str]]], actor: str) -> None:
    """The full-text rows' category names, and one audit row per service whose categories changed."""
    connection = session.connection()
    ids = list(changed)
    _refresh_search(session, ids)
    version = {
        sid: v
        for sid, v in connection.execute(select(col(Service.id), col(Service.version)).where(col(Service.id).in_(ids)))
    }
    now = datetime.now(UTC)
    audit = ServiceAudit.__table__  # type: ignore[attr-defined]
    connection.execute(
        insert(audit),
        [
            {
                "service_id": sid,
                "at": now,
                "actor": actor,
                "action": "categorise",
                "version": version[sid],
                "changes": {"categories": {"before": before, "after": after}},
            }
            for sid, (before, after) in changed.items()
        ],
    )


# ---------------------------------------------------------------------------------------------------------------
# When maps change


def stale_maps(*, session: Session) -> list[str]:
    """The maps (and classifier rules) whose current version differs from the one last applied."""
    held = {k: v for k, v in session.connection().execute(select(col(CategoryMap.id), col(CategoryMap.version)))}
    return [map_id for map_id, version in versions().items() if held.get(map_id) != version]


def record_versions(*, session: Session) -> None:
    """Note every map's current version as applied."""
    now = datetime.now(UTC)
    for map_id, version in versions().items():
        row = session.get(CategoryMap, map_id)
        if row is None:
            session.add(CategoryMap(id=map_id, version=version, applied_at=now))
        else:
            row.version, row.applied_at = version, now
    session.flush()


def recategorise(*, session: Session, actor: str, only_if_changed: bool = False) -> CategorisationReport | None:
    """Re-apply every map and the classifier to the whole directory (`only_if_changed`: only when one changed)."""
    if only_if_changed and not stale_maps(session=session):
        return None
    report = categorise(session=session, actor=actor)
    record_versions(session=session)
    return report


# ---------------------------------------------------------------------------------------------------------------
# Editors' decisions on suggestions


@dataclass(frozen=True)
class PendingSuggestion:
    """One suggested category awaiting an editor, with why it was suggested."""

    service_id: str
    code: str
    words: list[str]


def pending(*, session: Session, service_ids: list[str]) -> dict[str, list[PendingSuggestion]]:
    """The suggestions awaiting an editor for each service given."""
    out: dict[str, list[PendingSuggestion]] = {sid: [] for sid in service_ids}
    if not service_ids:
        return out
    for sid, code, evidence in session.connection().execute(
        select(col(ServiceTaxonomy.service_id), col(TaxonomyTerm.code), col(ServiceTaxonomy.evidence))
        .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTaxonomy.taxonomy_term_id))
        .where(col(ServiceTaxonomy.service_id).in_(service_ids))
        .where(col(ServiceTaxonomy.origin) == CategoryOrigin.suggested.value)
        .order_by(col(TaxonomyTerm.code))
    ):
        out[sid].append(PendingSuggestion(sid, code, list((evidence or {}).get("words", []))))
    return out


def decide(*, session: Session, decisions: list[tuple[str, str]], accept: bool, actor: str) -> dict[str, list[str]]:
    """Confirm (or reject) the suggested categories named as (service id, category code) pairs, all or nothing.

    Returns the codes decided per service; a pair that is not a pending suggestion is a 422 naming it, and nothing
    is changed. Each service decided gets an audit row.
    """
    if not decisions:
        message = "choose at least one suggested category"
        raise Problem(422, f"Suggestions: {message}.", errors=[{"loc": "suggestions", "message": message}])
    wanted = {(sid, code) for sid, code in decisions}
    ids = sorted({sid for sid, _ in wanted})
    rows = {
        (sid, code): (link_id, term_id)
        for link_id, sid, code, term_id in session.connection().execute(
            select(
                col(ServiceTaxonomy.id), col(ServiceTaxonomy.service_id), col(TaxonomyTerm.code), col(TaxonomyTerm.id)
            )
            .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTaxonomy.taxonomy_term_id))
            .where(col(ServiceTaxonomy.service_id).in_(ids))
            .where(col(ServiceTaxonomy.origin) == CategoryOrigin.suggested.value)
        )
    }
    missing = sorted(wanted - rows.keys())
    if missing:
        sid, code = missing[0]
        message = (
            f"category {code!r} is not a suggestion awaiting an editor on service {sid} "
            f"({len(missing)} of the {len(wanted)} chosen are not); nothing was changed"
        )
        raise Problem(422, f"Suggestions: {message}.", errors=[{"loc": "suggestions", "message": message}])
    table = ServiceTaxonomy.__table__  # type: ignore[attr-defined]
    link_ids = [rows[pair][0] for pair in sorted(wanted)]
    connection = session.connection()
    now = datetime.now(UTC)
    if accept:
        connection.execute(update(table).where(table.c.id.in_(link_ids)).values(origin=CategoryOrigin.confirmed.value))
    else:
        connection.execute(delete(table).where(table.c.id.in_(link_ids)))
        connection.execute(
            insert(CategoryRejection.__table__),  # type: ignore[attr-defined]
            [
                {"service_id": sid, "taxonomy_term_id": rows[(sid, code)][1], "at": now, "actor": actor}
                for sid, code in sorted(wanted)
            ],
        )
    decided: dict[str, list[str]] = {}
    for sid, code in sorted(wanted):
        decided.setdefault(sid, []).append(code)
    version = {
        sid: v
        for sid, v in connection.execute(select(col(Service.id), col(Service.version)).where(col(Service.id).in_(ids)))
    }
    key = "confirmed" if accept else "rejected"
    connection.execute(
        insert(ServiceAudit.__table__),  # type: ignore[attr-defined]
        [
            {
                "service_id": sid,
                "at": now,
                "actor": actor,
                "action": "categorise",
                "version": version[sid],
                "changes": {f"suggested categories {key}": {"before": codes, "after": codes if accept else []}},
            }
            for sid, codes in decided.items()
        ],
    )
    if not accept:
        _refresh_search(session, ids)
    return decided


def _refresh_search(session: Session, ids: list[str]) -> None:
    """The full-text rows' category names and term words after links changed."""
    connection = session.connection()
    terms: dict[str, list[tuple[str, str]]] = {sid: [] for sid in ids}
    for sid, term_id, name in connection.execute(
        select(col(ServiceTaxonomy.service_id), col(TaxonomyTerm.id), col(TaxonomyTerm.name))
        .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTaxonomy.taxonomy_term_id))
        .where(col(ServiceTaxonomy.service_id).in_(ids))
    ):
        terms[sid].append((term_id, name))
    search = ServiceSearch.__table__  # type: ignore[attr-defined]
    connection.execute(
        update(search)
        .where(search.c.service_id == bindparam("b_service_id"))
        .values(taxonomy=bindparam("b_taxonomy"), terms=bindparam("b_terms")),
        [
            {"b_service_id": sid, **{f"b_{k}": v for k, v in fulltext.taxonomy_columns(linked).items()}}
            for sid, linked in terms.items()
        ],
    )


@dataclass(frozen=True)
class QueueItem:
    """A service in the categories queue: its suggestions awaiting an editor (none when it has no category)."""

    service_id: str
    name: str
    organization: str
    suggestions: list[PendingSuggestion]


def category_queue(
    *, session: Session, kind: str, limit: int = 50, offset: int = 0, import_run_id: int | None = None
) -> tuple[list[QueueItem], int]:
    """Live services with suggestions awaiting an editor (`suggested`) or with no category at all
    (`uncategorised`, which the template never offers), by name, of one import run if named; returns (page, total)."""
    category_ids = select(col(TaxonomyTerm.id)).where(col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY)
    if kind == "suggested":
        chosen = select(col(ServiceTaxonomy.service_id)).where(
            col(ServiceTaxonomy.origin) == CategoryOrigin.suggested.value
        )
        condition = col(Service.id).in_(chosen)
    elif kind == "uncategorised":
        categorised = select(col(ServiceTaxonomy.service_id)).where(
            col(ServiceTaxonomy.taxonomy_term_id).in_(category_ids)
        )
        condition = col(Service.id).not_in(categorised)
    else:
        raise ValueError(kind)
    base = (
        select(col(Service.id), col(Service.name), col(Organization.name))
        .join(Organization, col(Organization.id) == col(Service.organization_id), isouter=True)
        .where(col(Service.retired_at).is_(None), condition)
    )
    if import_run_id is not None:
        base = base.where(col(Service.import_run_id) == import_run_id)
    connection = session.connection()
    total = connection.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(connection.execute(base.order_by(col(Service.name), col(Service.id)).offset(offset).limit(limit)))
    waiting = pending(session=session, service_ids=[r[0] for r in rows])
    return [QueueItem(sid, name, org or "", waiting[sid]) for sid, name, org in rows], int(total)
