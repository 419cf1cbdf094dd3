"""Starter content: the service categories and the starter service records in `directory/` (ORUK 3.0 JSON).

Loading is idempotent: terms are kept in step with the file; a service already held is left alone (editors
own it once loaded). Starter services arrive unverified: no assured_date.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlmodel import Session

from signpost.config import Settings, data_dir
from signpost.directory import categorise
from signpost.directory import service as directory
from signpost.directory.models import (
    AreaScope,
    CostOption,
    Organization,
    Phone,
    Service,
    ServiceArea,
    ServiceTaxonomy,
    TaxonomyTerm,
)

STARTER_ACTOR = "starter content"
GSS_URI = "http://statistics.data.gov.uk/id/statistical-geography/"


@dataclass
class LoadReport:
    terms_created: int = 0
    terms_updated: int = 0
    services_created: int = 0
    services_present: int = 0


def load_taxonomy(*, session: Session, path: Path | None = None, report: LoadReport | None = None) -> LoadReport:
    """Create or refresh the service-category terms from `directory/taxonomy.json`."""
    report = report or LoadReport()
    document = json.loads((path or data_dir("directory") / "taxonomy.json").read_text(encoding="utf-8"))
    for item in document["taxonomy_terms"]:
        term = session.get(TaxonomyTerm, item["id"])
        values = {
            "code": item["code"],
            "name": item["name"],
            "description": item.get("description"),
            "taxonomy": item.get("taxonomy", directory.CATEGORY_TAXONOMY),
            "term_uri": item.get("term_uri"),
            "lgsl_ids": [entry["id"] for entry in item.get("lgsl", [])],
        }
        if term is None:
            session.add(TaxonomyTerm(id=item["id"], **values))
            report.terms_created += 1
        elif any(getattr(term, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(term, key, value)
            session.add(term)
            report.terms_updated += 1
    session.flush()
    return report


def _area(item: dict[str, Any]) -> ServiceArea:
    code = (item.get("uri") or "").removeprefix(GSS_URI)
    if code.startswith("E92") or code.startswith("K0"):
        return ServiceArea(scope=AreaScope.national.value, name=item.get("name"), service_id="")
    return ServiceArea(
        scope=AreaScope.local_authority.value, area_code=code or None, name=item.get("name"), service_id=""
    )


def load_services(*, session: Session, path: Path | None = None, report: LoadReport | None = None) -> LoadReport:
    """Create the starter services not yet held (unverified); leave held ones as editors left them."""
    report = report or LoadReport()
    document = json.loads((path or data_dir("directory") / "services.json").read_text(encoding="utf-8"))
    for record in document["services"]:
        if session.get(Service, record["id"]) is not None:
            report.services_present += 1
            continue
        stamp = directory.now()
        org_data = record["organization"]
        if session.get(Organization, org_data["id"]) is None:
            session.add(
                Organization(
                    id=org_data["id"], name=org_data["name"], website=org_data.get("website"), last_modified=stamp
                )
            )
            session.flush()
        modes = set(record.get("delivery_modes", []))
        service = Service(
            id=record["id"],
            organization_id=org_data["id"],
            name=record["name"],
            description=record.get("description"),
            url=record.get("url"),
            status=record.get("status", "active"),
            in_person="in_person" in modes,
            by_phone="phone" in modes,
            online="online" in modes,
            crisis_access=record.get("crisis_access"),
            created_at=stamp,
            last_modified=stamp,
        )
        session.add(service)
        session.flush()
        for phone in record.get("phones", []):
            session.add(
                Phone(
                    id=phone["id"],
                    service_id=service.id,
                    number=phone["number"],
                    type="voice",
                    description=phone.get("description"),
                )
            )
        for attribute in record.get("attributes", []):
            session.add(
                ServiceTaxonomy(
                    id=attribute["id"], service_id=service.id, taxonomy_term_id=attribute["taxonomy_term"]["id"]
                )
            )
        for item in record.get("service_areas", []):
            area = _area(item)
            area.id, area.service_id = item["id"], service.id
            session.add(area)
        for cost in record.get("cost_options", []):
            session.add(
                CostOption(id=cost["id"], service_id=service.id, option=cost.get("option"), amount=cost.get("amount"))
            )
        directory.index_service(session=session, service_id=service.id)
        directory.record_audit(
            session=session,
            service=service,
            actor=STARTER_ACTOR,
            action="create",
            changes={"source": {"before": None, "after": "directory/services.json"}},
        )
        report.services_created += 1
    session.flush()
    return report


def load(*, session: Session) -> LoadReport:
    """Load the categories, then the starter services."""
    report = load_taxonomy(session=session)
    return load_services(session=session, report=report)


def starter_loader(session: Session, settings: Settings, console: Console) -> None:
    """The bootstrap hook: load the directory's starter content (idempotent)."""
    report = load(session=session)
    if report.terms_created or report.services_created:
        console.print(
            f"Directory: {report.terms_created} categories and {report.services_created} starter services loaded "
            "(unverified)."
        )
    # A category map (or the classifier's rules) that changed since it was last applied is applied again.
    changed = categorise.stale_maps(session=session)
    result = categorise.recategorise(session=session, actor="start-up (category maps changed)", only_if_changed=True)
    if result is not None and result.services:
        figures = result.summary()
        console.print(
            f"Directory: categories re-applied ({', '.join(changed)} changed): {figures['by_feed']} from feeds, "
            f"{figures['by_crosswalk']} by crosswalk, {figures['by_suggestion']} by suggestion, "
            f"{figures['uncategorised']} without a category (not offered)."
        )
