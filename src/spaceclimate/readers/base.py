"""The reader interface: a format in, a raw :class:`xarray.Dataset` out.

A reader knows nothing of recipes or the catalog. It returns the file's variables with
their on-disk values and attributes *undecoded* (no scale/offset applied, no fill masking,
no CF time decoding) so that harmonisation controls every conversion explicitly. Formats
without CF conventions (agency text tables) return what their options describe.

A reader may also say, from the file's metadata alone, what :meth:`Reader.open` would
return (:class:`DeclaresVariables`): the hub then refuses a file whose variables would
decode to more memory than it accepts before any value is read (a few megabytes of
compressed zeros can declare gigabytes; see :mod:`spaceclimate.readers.limits`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import xarray as xr


@runtime_checkable
class Reader(Protocol):
    """What every reader plugin provides (registered under ``spaceclimate.readers``)."""

    name: ClassVar[str]
    description: ClassVar[str]

    def can_open(self, path: Path) -> bool:
        """Return True when *path* looks like this reader's format (cheap: suffix, magic bytes)."""
        ...

    def open(self, path: Path, **options: Any) -> xr.Dataset:
        """Open *path* and return the raw dataset.

        Raises
        ------
        spaceclimate.errors.CorruptFileError
            When the file is truncated, corrupt or not of this format; the message names
            the file and the reason in one line.
        """
        ...


@dataclass(frozen=True)
class Declared:
    """A variable as a file declares it: its shape and the type of its values."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    def nbytes(self) -> int:
        """Bytes the variable takes decoded in memory (variable-length values count 8)."""
        itemsize = 8 if self.dtype.kind == "O" else self.dtype.itemsize
        return math.prod(self.shape) * max(itemsize, 1)


@runtime_checkable
class DeclaresVariables(Protocol):
    """A reader that can tell its variables' shapes and types without reading any value."""

    def declared(self, path: Path, **options: Any) -> dict[str, Declared] | None:
        """Return every variable :meth:`Reader.open` would return (same options), as declared.

        Only metadata is read. None when the metadata cannot be read this way (the file is
        then opened, and reports its problem, as usual).
        """
        ...
