"""Parsing of query parameters shared by the APIs: bbox, datetime intervals, lists.

Every parser raises :class:`~spaceclimate.errors.InputError` naming the parameter, which the
application answers with a 400 problem.

Datetimes come in two grammars. The lenient one (:func:`parse_instant`, and
:func:`parse_interval` by default) is the one of EDR, downloads, tiles and processes: ISO 8601
as Python reads it, naive times in UTC, a bare date as a whole day. The strict one
(``parse_interval(..., strict=True)``, :func:`parse_rfc3339`) is STAC's: an RFC 3339
``date-time`` (section 5.6: date, time and offset, ``.`` before a fraction), or an interval of
two with ``..`` or nothing for one open end.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

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


#: RFC 3339 ``date-time``: full-date "T" full-time, the time with its offset (Z or +hh:mm).
RFC3339 = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_hour>\d{2}):(?P<off_minute>\d{2}))",
    re.ASCII,
)
_RFC3339_FORM = "YYYY-MM-DDThh:mm:ss[.fraction] and Z or +hh:mm"


def parse_rfc3339(text: str, name: str = "datetime") -> datetime:
    """Parse one RFC 3339 ``date-time`` strictly; return it in UTC.

    Parameters
    ----------
    text
        The date-time, e.g. ``1985-04-12T23:20:50.52Z`` or ``1996-12-19T16:39:57-08:00``.
        ``T`` and ``Z`` may be lower case; a fraction of more than 6 digits is cut to
        microseconds; a leap second (``:60``) is read as the first second of the next minute.
    name
        The parameter named in the error.

    Returns
    -------
    datetime
        The instant, timezone-aware in UTC.

    Raises
    ------
    InputError
        For anything else: a date without time, a time without offset, ``+0100``, a comma or
        an empty fraction, fields out of range.
    """
    match = RFC3339.fullmatch(text)
    if match is None:
        hint = ""
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            hint = f" (a date needs a time and an offset: {text}T00:00:00Z)"
        raise InputError(
            f"parameter {name!r}: not an RFC 3339 date-time ({_RFC3339_FORM}): {text[:40]!r}{hint}"
        )
    g = match.groupdict()
    second = int(g["second"])
    micro = int((g["fraction"] or "0")[:6].ljust(6, "0"))
    try:
        offset = timedelta(0)
        if not g["utc"]:
            hours, minutes = int(g["off_hour"]), int(g["off_minute"])
            if hours > 23 or minutes > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=hours, minutes=minutes) * (-1 if g["sign"] == "-" else 1)
        if second > 60:
            raise ValueError("second out of range")
        stamp = datetime(
            int(g["year"]),
            int(g["month"]),
            int(g["day"]),
            int(g["hour"]),
            int(g["minute"]),
            min(second, 59),
            micro,
            tzinfo=timezone(offset),
        )
        if second == 60:  # a leap second: the instant after 59
            stamp += timedelta(seconds=1)
        return stamp.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InputError(f"parameter {name!r}: date-time out of range: {text[:40]!r}") from None


def _parse_strict_interval(text: str, name: str) -> tuple[datetime | None, datetime | None]:
    parts = text.split("/")
    if len(parts) == 1:
        if parts[0] in ("", ".."):
            raise InputError(f"parameter {name!r}: '..' alone is not a date-time")
        stamp = parse_rfc3339(parts[0], name)
        return stamp, stamp
    if len(parts) != 2:
        raise InputError(f"parameter {name!r}: expected a date-time or start/end")
    ends = [None if p in ("", "..") else parse_rfc3339(p, name) for p in parts]
    start, end = ends
    if start is None and end is None:
        raise InputError(f"parameter {name!r}: an interval needs at least one end")
    if start is not None and end is not None and start > end:
        raise InputError(f"parameter {name!r}: start is after end")
    return start, end


def parse_interval(
    text: str | None, name: str = "datetime", *, strict: bool = False
) -> tuple[datetime | None, datetime | None] | None:
    """Parse an instant or an interval ``start/end`` (either side may be ``..``).

    Parameters
    ----------
    text
        The parameter's value (None or blank: no time filter).
    name
        The parameter named in errors.
    strict
        False (EDR, downloads, tiles, processes): ISO 8601 instants as :func:`parse_instant`
        reads them, and a date without time (``2017-06-05``) as a single instant covers the
        whole day. True (STAC): RFC 3339 date-times only (:func:`parse_rfc3339`), an open end
        is ``..`` or empty, and not both ends may be open.

    Returns
    -------
    tuple or None
        ``(start, end)`` in UTC, None for an open end; None when *text* is absent.
    """
    if text is None or text.strip() == "":
        return None
    if strict:
        return _parse_strict_interval(text, name)
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
