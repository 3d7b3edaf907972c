"""The decoded size of a file's variables, checked before its values are read.

A compressed file can declare far more than it holds: a few megabytes of zlib-compressed
zeros make a variable of gigabytes, which reading (or decoding, or harmonising) would have to
hold in memory. Every variable a reader would return is sized from the file's own metadata
(its dimensions times its type's size, :class:`~spaceclimate.readers.base.Declared`) and
compared with the hub's limit (``SCO_MAX_VARIABLE_BYTES``) before the file is opened for
reading; readers that cannot declare their variables are checked right after opening, which
reads no values of the formats that hold large arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xarray as xr

from spaceclimate.errors import DecodedSizeError
from spaceclimate.readers.base import Declared, DeclaresVariables, Reader

SETTING = "SCO_MAX_VARIABLE_BYTES"


def declared_variables(reader: Reader, path: Path, **options: Any) -> dict[str, Declared] | None:
    """Return what *reader* declares *path* holds (None when it cannot say)."""
    if not isinstance(reader, DeclaresVariables):
        return None
    return reader.declared(path, **options)


def check_declared(path: Path, variables: Mapping[str, Declared], limit: int) -> None:
    """Raise DecodedSizeError naming the first variable that decodes to more than *limit*."""
    for name, var in variables.items():
        size = var.nbytes
        if size > limit:
            shape = " x ".join(str(n) for n in var.shape)
            raise DecodedSizeError(
                f"{path.name}: variable {name!r} ({shape} {var.dtype}) would decode to "
                f"{size:,} bytes, over the limit of {limit:,} bytes per variable ({SETTING})",
                variable=name,
                decoded_bytes=size,
                limit=limit,
            )


def check_dataset(path: Path, ds: xr.Dataset, limit: int) -> None:
    """Check an opened (lazy) dataset's variables, sized from their shapes and types."""
    check_declared(
        path,
        {str(name): Declared(tuple(var.shape), var.dtype) for name, var in ds.variables.items()},
        limit,
    )


def check_file(reader: Reader, path: Path, limit: int, **options: Any) -> None:
    """Check what *reader* declares of *path* against *limit*, reading no value."""
    declared = declared_variables(reader, path, **options)
    if declared is not None:
        check_declared(path, declared, limit)
