"""The reader interface: a format in, a raw :class:`xarray.Dataset` out.

A reader knows nothing of recipes or the catalog. It returns the file's variables with
their on-disk values and attributes *undecoded* (no scale/offset applied, no fill masking,
no CF time decoding) so that harmonisation controls every conversion explicitly. Formats
without CF conventions (agency text tables) return what their options describe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

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
