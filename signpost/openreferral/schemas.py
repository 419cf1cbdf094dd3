"""Response shapes of the Open Referral UK read API (for the OpenAPI document)."""

from typing import Any

from pydantic import BaseModel, ConfigDict


class ApiInfo(BaseModel):
    """`GET /openreferral/`: the HSDS version and profile."""

    version: str
    profile: str
    openapi_url: str


class Page(BaseModel):
    """The ORUK 3.0 paging envelope."""

    model_config = ConfigDict(extra="allow")

    total_items: int
    total_pages: int
    page_number: int
    size: int
    first_page: bool
    last_page: bool
    empty: bool
    contents: list[dict[str, Any]]


class ImportReportOut(BaseModel):
    """What an import did (or would do, on a dry run)."""

    source: str
    format: str
    run_id: int | None = None  # the import run (none on a dry run): the editor's review queue filters on it
    dry_run: bool
    total: int
    created: int
    updated: int
    unchanged: int
    duplicates: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
