"""Practice codes: a GP practice's ODS code is a letter and five digits; where epraccur is loaded, one it lists."""

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import delete, insert, literal, select
from sqlmodel import Session

from signpost.errors import Problem
from signpost.ods.models import OdsPractice

GP_PRACTICE_CODE = re.compile(r"^[A-Z][0-9]{5}$")
# epraccur.csv (NHS Digital ODS, no header row): the columns this import reads, 0-based.
EPRACCUR_CODE, EPRACCUR_NAME, EPRACCUR_OPEN, EPRACCUR_CLOSE, EPRACCUR_STATUS = 0, 1, 10, 11, 12
EPRACCUR_COLUMNS = 27
STATUSES = {"A", "C", "D", "P"}


def normalise(code: str) -> str:
    return code.strip().upper()


def practice_problem(*, session: Session, code: str) -> str | None:
    """What is wrong with a practice code (never echoing it), or None when it is a GP practice code that the loaded
    ODS list holds (any code of the right form while no list is loaded)."""
    found = normalise(code)
    if not GP_PRACTICE_CODE.match(found):
        # Never echo the value: a 10-digit "practice code" is most likely an NHS number.
        return "not a GP practice ODS code (a letter and five digits, e.g. B86001)"
    if is_list_loaded(session) and session.get(OdsPractice, found) is None:
        return "not a GP practice in the loaded ODS list (epraccur)"
    return None


def check_practice(*, session: Session, code: str, loc: str = "practice_ods") -> str:
    """The practice code, upper-cased, or a 422 naming `loc` and what is wrong."""
    problem = practice_problem(session=session, code=code)
    if problem:
        raise Problem(422, f"{loc}: {problem}.", errors=[{"loc": loc, "message": problem}])
    return normalise(code)


def is_list_loaded(session: Session) -> bool:
    return session.execute(select(literal(1)).select_from(OdsPractice).limit(1)).first() is not None


@dataclass
class Imported:
    practices: int
    by_status: dict[str, int]


class EpraccurError(ValueError):
    """The file is not in epraccur's layout; names the line and what is wrong."""


def _day(text: str, line: int, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise EpraccurError(f"line {line}: {what} {text!r} is not a date as YYYYMMDD") from None


def read_epraccur(path: Path) -> list[dict[str, object]]:
    """Every practice row of an epraccur CSV, checked; raises EpraccurError naming the first bad line."""
    rows: dict[str, dict[str, object]] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for line, fields in enumerate(csv.reader(handle), start=1):
            if len(fields) < EPRACCUR_STATUS + 1:
                raise EpraccurError(
                    f"line {line}: {len(fields)} columns; epraccur has {EPRACCUR_COLUMNS} (code, name, …, status)"
                )
            code = normalise(fields[EPRACCUR_CODE])
            if not GP_PRACTICE_CODE.match(code):
                raise EpraccurError(f"line {line}: organisation code {code!r} is not a GP practice code")
            status = fields[EPRACCUR_STATUS].strip().upper()
            if status not in STATUSES:
                raise EpraccurError(f"line {line}: status {status!r} is not one of {', '.join(sorted(STATUSES))}")
            rows[code] = {
                "code": code,
                "name": fields[EPRACCUR_NAME].strip()[:200],
                "status": status,
                "open_date": _day(fields[EPRACCUR_OPEN], line, "open date"),
                "close_date": _day(fields[EPRACCUR_CLOSE], line, "close date"),
            }
    if not rows:
        raise EpraccurError("the file holds no practices")
    return list(rows.values())


def import_epraccur(*, session: Session, path: Path) -> Imported:
    """Replace the list of GP practices with an epraccur file's (all or nothing). The caller commits."""
    rows = read_epraccur(path)
    session.execute(delete(OdsPractice))
    session.execute(insert(OdsPractice), rows)
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[str(row["status"])] = by_status.get(str(row["status"]), 0) + 1
    return Imported(len(rows), by_status)
