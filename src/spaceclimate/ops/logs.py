"""Structured logs: one JSON object a line, carrying the id of the request being served.

``SCO_LOG_FORMAT=json`` makes ``sco serve`` log this way, including one access line a
request (method, path, route, status, duration_ms, bytes, request_id, client, key_id). The
default stays uvicorn's human text, with its own access log.
"""

from __future__ import annotations

import json
import logging
import os
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

#: The id of the request being served (set by the API's middleware, read by every log line).
REQUEST_ID: ContextVar[str | None] = ContextVar("sco_request_id", default=None)

#: Logger of the access lines (JSON logs only).
ACCESS_LOGGER = "spaceclimate.access"


class JSONFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, pid, message, request id.

    Structured fields passed as ``extra={"sco": {...}}`` are merged into the object.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("use_colors", None)  # uvicorn may pass it to every formatter
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": os.getpid(),
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            out["request_id"] = request_id
        fields = getattr(record, "sco", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def log_config(level: str) -> dict[str, Any]:
    """Return the ``logging.config`` dictionary of JSON logs at *level* (uvicorn's names)."""
    name = {"trace": "DEBUG"}.get(level.lower(), level.upper())
    formatter = {"()": "spaceclimate.ops.logs.JSONFormatter"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter, "access": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": name, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "spaceclimate": {"handlers": ["stderr"], "level": name, "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
