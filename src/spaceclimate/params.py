"""Parsing of query parameters shared by the APIs: bbox, datetime intervals, lists.

Every parser raises :class:`~spaceclimate.errors.InputError` naming the parameter, which the
application answers with a 400 problem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from spaceclimate.errors import InputError

BBox = tuple[float, float, float, float]


def parse_bbox(text: str | None, name: str = "bbox") -> BBox | None:
    """Parse ``minx,miny,maxx,maxy`` (lon/lat; a 6-number 3-D bbox drops its heights)."""
    if text is None or text == "":
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError as exc:
        raise InputError(f"parameter {name!r}: not a list of numbers: {text[:80]!r}") from exc
    return check_bbox(parts, name)


def check_bbox(parts: Sequence[float], name: str = "bbox") -> BBox:
    """Validate a bbox given as a list of 4 (or 6) numbers (the query parameter *name*)."""
    return validate_bbox(parts, f"parameter {name!r}")


def validate_bbox(parts: Sequence[float], where: str) -> BBox:
    """Return a lon/lat bbox ``(minx, miny, maxx, maxy)``; a 3-D bbox loses its heights.

    The one check of a bbox, wherever it comes from (a query parameter, a search body, a
    STAC document): InputError prefixed with *where* when it is not 4 (or 6) finite numbers
    with -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90.
    """
    if len(parts) == 6:
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4:
        raise InputError(f"{where}: expected 4 numbers minx,miny,maxx,maxy")
    if not all(math.isfinite(p) for p in parts):
        raise InputError(f"{where}: numbers must be finite")
    minx, miny, maxx, maxy = (float(p) for p in parts)
    if not (-90 <= miny <= maxy <= 90):
        raise InputError(f"{where}: latitudes must satisfy -90 <= miny <= maxy <= 90")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        raise InputError(f"{where}: longitudes must lie in -180..180")
    if minx > maxx:
        raise InputError(f"{where}: minx > maxx (antimeridian-crossing boxes: split)")
    return (minx, miny, maxx, maxy)


def parse_instant(text: str, name: str = "datetime") -> datetime | None:
    """Parse one RFC 3339 instant (``..`` or empty means open); naive times are UTC."""
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"parameter {name!r}: not an RFC 3339 date-time: {text[:40]!r}") from exc
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    try:
        return stamp.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise InputError(f"parameter {name!r}: date-time out of range: {text[:40]!r}") from exc


def parse_interval(
    text: str | None, name: str = "datetime"
) -> tuple[datetime | None, datetime | None] | None:
    """Parse an instant or an interval ``start/end`` (either side may be ``..``).

    A date without time (``2017-06-05``) as a single instant covers the whole day.
    """
    if text is None or text.strip() == "":
        return None
    parts = text.split("/")
    if len(parts) == 1:
        start = parse_instant(parts[0], name)
        if start is None:
            raise InputError(f"parameter {name!r}: '..' alone is not a date-time")
        if len(parts[0].strip()) == 10:  # a bare date: the whole day
            return start, start.replace(hour=23, minute=59, second=59)
        return start, start
    if len(parts) != 2:
        raise InputError(f"parameter {name!r}: expected an instant or start/end")
    start, end = parse_instant(parts[0], name), parse_instant(parts[1], name)
    if start is not None and end is not None and start > end:
        raise InputError(f"parameter {name!r}: start is after end")
    return start, end


def parse_list(text: str | None) -> list[str] | None:
    """Split a comma-separated list, dropping empty entries (None when absent or empty)."""
    if text is None:
        return None
    values = [v.strip() for v in text.split(",") if v.strip()]
    return values or None
