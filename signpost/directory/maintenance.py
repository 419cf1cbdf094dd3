"""Verify, retire and status changes on one service or many, all or nothing, and undoing them."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from signpost.directory import service as directory
from signpost.directory.models import ImportRun, Organization, Service, ServiceAudit, ServiceStatus
from signpost.errors import Problem

ACTIONS = {"verify": "verify", "retire": "retire", "status": "change the status of"}
# The fields each action sets: an undo puts back exactly these, from the action's own audit row.
UNDOABLE = {"verify": ("assured_date", "assurer", "assurer_email"), "status": ("status",), "retire": ("retired_at",)}


@dataclass(frozen=True)
class Done:
    """One service an action changed, and the version it left (an undo must start from it)."""

    service_id: str
    name: str
    version: int


def parse_items(values: list[str]) -> list[tuple[str, int]]:
    """`id:version` pairs from a form, or a 422 naming the broken one."""
    items = []
    for value in values:
        service_id, _, version = value.rpartition(":")
        if not service_id or not version.isdigit():
            raise Problem(422, "Choose at least one service.", errors=[{"loc": "service", "message": "not understood"}])
        items.append((service_id, int(version)))
    if not items:
        raise Problem(422, "Choose at least one service.", errors=[{"loc": "service", "message": "none chosen"}])
    return items


def apply(*, session: Session, action: str, items: list[tuple[str, int]], actor: str, status: str = "") -> list[Done]:
    """Verify, retire or set the status of every service from the version the editor saw; one stale or
    retired service refuses the lot (the caller rolls back), naming it."""
    if action not in ACTIONS:
        raise Problem(422, "Choose verify, retire or a status.", errors=[{"loc": "action", "message": "unknown"}])
    try:
        chosen_status = ServiceStatus(status) if action == "status" else None
    except ValueError:
        raise Problem(422, "Choose a status.", errors=[{"loc": "status", "message": "choose a status"}]) from None
    done = []
    for service_id, version in items:
        try:
            if chosen_status is not None:
                record = directory.change_status(
                    session=session, service_id=service_id, status=chosen_status, actor=actor, expected_version=version
                )
            elif action == "verify":
                record = directory.verify_service(
                    session=session, service_id=service_id, actor=actor, expected_version=version
                )
            else:
                record = directory.retire_service(
                    session=session, service_id=service_id, actor=actor, expected_version=version
                )
        except Problem as problem:
            raise _naming(session, service_id, problem) from None
        done.append(Done(record.id, record.name, record.version))
    return done


def undo(*, session: Session, items: list[tuple[str, int]], actor: str) -> list[Done]:
    """Put back what the verify, retire or status change that made each version changed: an audited edit
    (action `undo`); refused if the service has changed since."""
    done = []
    for service_id, version in items:
        try:
            record = directory.get_service(session=session, service_id=service_id)
            row = session.exec(
                select(ServiceAudit).where(
                    col(ServiceAudit.service_id) == service_id, col(ServiceAudit.version) == version
                )
            ).first()
            if row is None or row.action not in UNDOABLE:
                raise Problem(409, "Only a verify, retire or status change can be undone here.")
            if record.version != version:
                raise Problem(
                    412,
                    "It has changed since, so it was not undone: open it and put it right by hand.",
                    errors=[{"loc": "version", "message": "stale"}],
                )
            changes = {k: v for k, v in (row.changes or {}).items() if k in UNDOABLE[row.action]}
            directory.claim(session, record, version)
            for field, change in changes.items():
                setattr(record, field, _value(field, change["before"]))
            session.add(record)
            reverse = {f: {"before": c["after"], "after": c["before"]} for f, c in changes.items()}
            directory.record_audit(session=session, service=record, actor=actor, action="undo", changes=reverse)
            if "retired_at" in changes:
                directory.index_service(session=session, service_id=record.id)
            session.flush()
        except Problem as problem:
            raise _naming(session, service_id, problem) from None
        done.append(Done(record.id, record.name, record.version))
    return done


def _value(field: str, stored: object) -> object:
    """An audit row's JSON value as the column's type."""
    if stored is None or not isinstance(stored, str):
        return stored
    if field == "assured_date":
        return date.fromisoformat(stored)
    if field == "retired_at":
        return datetime.fromisoformat(stored)
    return stored


def _naming(session: Session, service_id: str, problem: Problem) -> Problem:
    """The problem with the service named, so an editor acting on fifty knows which one stopped the lot."""
    try:
        name = directory.get_service(session=session, service_id=service_id).name
    except Problem:
        name = service_id
    return Problem(
        problem.status,
        f"{name}: {problem.detail} Nothing was changed.",
        errors=[{"loc": "service", "message": f"{name}: {problem.detail}"}],
    )


def organization_names(*, session: Session, ids: list[str]) -> dict[str, str]:
    """Organisation names by id, for the queue's organisation column and filter."""
    if not ids:
        return {}
    rows = session.exec(select(Organization.id, Organization.name).where(col(Organization.id).in_(ids))).all()
    return {row[0]: row[1] for row in rows}


@dataclass(frozen=True)
class ImportBatch:
    """One import run as the review queue offers it: when, from where, and how many live services it last wrote."""

    id: int
    started_at: datetime
    source: str
    actor: str
    services: int

    @property
    def label(self) -> str:
        noun = "service" if self.services == 1 else "services"
        return f"{self.started_at:%-d %b %Y %H:%M}, {self.source} ({self.services} {noun})"


def import_batches(*, session: Session, limit: int = 50) -> list[ImportBatch]:
    """The latest import runs that still mark a live service (created or last changed by them), newest first."""
    live = (
        select(col(Service.import_run_id), func.count().label("services"))
        .where(col(Service.import_run_id).is_not(None), col(Service.retired_at).is_(None))
        .group_by(col(Service.import_run_id))
        .subquery()
    )
    rows = session.exec(
        select(ImportRun, live.c.services)
        .join(live, live.c.import_run_id == ImportRun.id)
        .order_by(col(ImportRun.id).desc())
        .limit(limit)
    ).all()
    return [ImportBatch(int(run.id or 0), run.started_at, run.source, run.actor, int(count)) for run, count in rows]
