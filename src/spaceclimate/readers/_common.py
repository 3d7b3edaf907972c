"""Small helpers shared by the readers."""

from __future__ import annotations

from pathlib import Path

from spaceclimate.errors import CorruptFileError


def corrupt(path: Path, what: str, exc: BaseException | str) -> CorruptFileError:
    """Return a one-line CorruptFileError naming the file, the format and the reason."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return CorruptFileError(f"{path.name}: cannot read as {what} ({reason})")


def head(path: Path, n: int = 8) -> bytes:
    """Return the first *n* bytes of a file (empty for folders or unreadable files)."""
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError:
        return b""
