"""Directory import and export over HTTP for editors: `/api/v1/directory/imports` and `/export`."""

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import Response

from signpost.auth import Caller, Role, allow
from signpost.db import SessionDep
from signpost.directory import importer
from signpost.errors import Problem
from signpost.openreferral import exporter
from signpost.openreferral.schemas import ImportReportOut

router = APIRouter(prefix="/api/v1/directory", tags=["directory"])
EditorDep = Annotated[Caller, Depends(allow(Role.editor))]


@router.post("/imports", operation_id="directory_import", response_model=ImportReportOut)
def import_feed(
    session: SessionDep,
    caller: EditorDep,
    file: Annotated[UploadFile, File(description="An ORUK 1.0 or 3.0 JSON feed, or the CSV export")],
    format: Annotated[str | None, Form(description="oruk1, oruk3 or csv; by default JSON, or CSV by name")] = None,
    dry_run: Annotated[bool, Query(description="Report what would change and write nothing")] = False,
) -> dict[str, Any]:
    """Import an uploaded feed and report what was created, updated, unchanged, duplicated or rejected."""
    # A plain `def`: a large feed takes a while, and runs in a worker thread rather than holding up the loop.
    if format is not None and format not in importer.FORMATS:
        raise Problem(
            422,
            f"format must be one of {', '.join(importer.FORMATS)}.",
            errors=[{"loc": ["body", "format"], "message": f"unknown format {format!r}"}],
        )
    filename = file.filename or ""
    try:
        importer.scan_file(file.file, format, filename)  # a broken file fails before anything is written
    except importer.FeedError as exc:
        raise Problem(
            422, f"The file cannot be imported: {exc}.", errors=[{"loc": ["body", "file"], "message": str(exc)}]
        ) from None
    report = importer.ImportReport(source=filename or "upload", format=format or "auto", dry_run=dry_run)
    records = importer.iter_file_records(file.file, format, filename)
    importer.import_records(session=session, records=records, report=report, actor=caller.name)
    # An import keeps this control rather than leave it to the request: a dry run must write nothing.
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return report.summary()


@router.get(
    "/export",
    operation_id="directory_export",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def export_directory(
    session: SessionDep,
    _caller: EditorDep,
    format: Annotated[str, Query(description="oruk3 (JSON) or csv")] = "oruk3",
) -> Response:
    """The whole directory as ORUK 3.0 JSON or CSV, ready to import elsewhere."""
    if format not in exporter.EXPORT_FORMATS:
        raise Problem(
            400,
            f"format must be one of {', '.join(exporter.EXPORT_FORMATS)}.",
            errors=[{"loc": ["query", "format"], "message": f"unknown format {format!r}"}],
        )
    buffer = io.StringIO()
    exporter.export(session=session, fmt=format, out=buffer)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    filename = f"directory.{'csv' if format == 'csv' else 'json'}"
    return Response(
        buffer.getvalue(), media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
