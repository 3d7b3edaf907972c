"""Small helpers shared by the readers."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

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


def subset(ds: xr.Dataset, names: list[str]) -> xr.Dataset:
    """Keep only the variables *names*; closing the subset closes the file (a plain subset
    of an opened dataset would leave it open)."""
    kept = ds[list(names)]
    kept.set_close(ds.close)
    return kept


def restore_attrs(ds: xr.Dataset) -> None:
    """Return to each variable's attributes those xarray moves to its encoding on opening.

    Readers give attributes as stored: ``_FillValue`` is copied back, ``coordinates`` is
    moved back (kept in both, it would stop the variable from being written).
    """
    for var in ds.variables.values():
        fill = var.encoding.get("_FillValue")
        if fill is not None and "_FillValue" not in var.attrs:
            var.attrs["_FillValue"] = fill
        if "coordinates" in var.encoding and "coordinates" not in var.attrs:
            var.attrs["coordinates"] = var.encoding.pop("coordinates")
