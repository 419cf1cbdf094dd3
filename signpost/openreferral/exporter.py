"""Export the directory as Open Referral UK 3.0 JSON or CSV; the importer reads both back."""

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, select

from signpost.directory.models import CategoryOrigin, Service, ServiceTaxonomy
from signpost.openreferral import service as oruk

EXPORT_FORMATS = ("oruk3", "csv")
CSV_COLUMNS = [
    "id",
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "fees_description",
    "minimum_age",
    "maximum_age",
    "eligibility_description",
    "assured_date",
    "assurer_email",
    "delivery_modes",
    "taxonomy_terms",
    "taxonomy",
    "languages",
    "organization_id",
    "organization_name",
    "organization_description",
    "organization_email",
    "organization_website",
    "organization_charity_number",
    "organization_company_number",
]


def iter_services(
    *, session: Session, batch_size: int = 500, include_retired: bool = False
) -> Iterator[dict[str, Any]]:
    """Every service, fully nested as ORUK 3.0, read in batches so memory stays flat."""
    last_id = ""
    while True:
        statement = select(Service).where(col(Service.id) > last_id)
        if not include_retired:
            statement = statement.where(col(Service.retired_at).is_(None))
        batch = list(session.exec(statement.order_by(Service.id).limit(batch_size)))
        if not batch:
            return
        # Crosswalked and suggested categories are left out: an import derives them again from the same maps and
        # rules, so an export round-trips exactly; what a feed or an editor gave (or confirmed) is kept.
        derived = set(
            session.exec(
                select(ServiceTaxonomy.id).where(
                    col(ServiceTaxonomy.service_id).in_([s.id for s in batch]),
                    col(ServiceTaxonomy.origin).in_([CategoryOrigin.crosswalk.value, CategoryOrigin.suggested.value]),
                )
            )
        )
        for item in oruk.services_json(session, batch, full=True):
            if derived and "attributes" in item:
                item["attributes"] = [a for a in item["attributes"] if a.get("id") not in derived]
            yield item
        last_id = batch[-1].id


def write_oruk3(*, session: Session, out: io.TextIOBase | Any) -> int:
    """The directory as one JSON list of fully nested ORUK 3.0 services; returns how many."""
    count = 0
    out.write("[")
    for item in iter_services(session=session):
        out.write(("," if count else "") + "\n" + json.dumps(item, ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count


def csv_row(item: dict[str, Any]) -> dict[str, Any]:
    """One service as a flat CSV row: lists joined with '|', taxonomy terms as id=name."""
    org = item.get("organization") or {}
    terms = [a["taxonomy_term"] for a in item.get("attributes", [])]
    return {
        **{k: item.get(k, "") for k in CSV_COLUMNS if k in item and not isinstance(item[k], (list, dict))},
        "delivery_modes": "|".join(item.get("delivery_modes", [])),
        "taxonomy_terms": "|".join(f"{t['id']}={t.get('term', '')}" for t in terms),
        "taxonomy": terms[0].get("taxonomy", "") if terms else "",
        "languages": "|".join(lang.get("code", "") for lang in item.get("languages", [])),
        "organization_id": org.get("id", ""),
        "organization_name": org.get("name", ""),
        "organization_description": org.get("description", ""),
        "organization_email": org.get("email", ""),
        "organization_website": org.get("website", ""),
        "organization_charity_number": org.get("charity_number", ""),
        "organization_company_number": org.get("company_number", ""),
    }


def write_csv(*, session: Session, out: io.TextIOBase | Any) -> int:
    """The directory's services as CSV, one row per service (locations, contacts and hours stay in ORUK JSON)."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for item in iter_services(session=session):
        writer.writerow(csv_row(item))
        count += 1
    return count


def export(*, session: Session, fmt: str, out: io.TextIOBase | Any) -> int:
    """Write the directory in `fmt` (oruk3 or csv) to `out`; returns the number of services."""
    if fmt == "oruk3":
        return write_oruk3(session=session, out=out)
    if fmt == "csv":
        return write_csv(session=session, out=out)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
