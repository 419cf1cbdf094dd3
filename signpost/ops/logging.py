"""Structured JSON logs: one line per request, never a body or a query string."""

import json
import logging
import sys
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            # The exception type and where, not its message: messages can quote input.
            exc_type = record.exc_info[0]
            line["exception"] = exc_type.__name__ if exc_type else "unknown"
        return json.dumps(line)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every outbound URL at INFO, query string and all (a postcode lookup would leak the postcode);
    # psycopg's pool logs each connection it hands out and takes back (the async writes: three lines a request).
    for name in ("httpx", "httpcore", "psycopg.pool"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    for name in ("uvicorn.access",):
        logging.getLogger(name).disabled = True  # its line carries the query string
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
