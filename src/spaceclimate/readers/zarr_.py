"""Zarr v2 and v3 directory stores, opened without decoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from spaceclimate.readers._common import corrupt, restore_attrs, subset
from spaceclimate.readers.base import Declared

MARKERS = (".zgroup", "zarr.json", ".zmetadata")


class ZarrReader:
    """Read a Zarr directory store as a raw dataset."""

    name: ClassVar[str] = "zarr"
    description: ClassVar[str] = "Zarr v2/v3 directory stores"

    def can_open(self, path: Path) -> bool:
        """A folder holding Zarr group metadata."""
        return path.is_dir() and any((path / m).exists() for m in MARKERS)

    def declared(self, path: Path, **options: Any) -> dict[str, Declared] | None:
        """Return every array of the store's root group, from its metadata only."""
        import zarr

        if not self.can_open(path):
            return None
        try:
            group = zarr.open_group(str(path), mode="r")
            return {
                str(name): Declared(tuple(int(n) for n in array.shape), np.dtype(array.dtype))
                for name, array in group.arrays()
            }
        except Exception:  # noqa: BLE001 - opening will say what is wrong with the store
            return None

    def open(self, path: Path, **options: Any) -> xr.Dataset:
        """Open the store; option ``variables`` keeps only those data variables."""
        if not self.can_open(path):
            raise corrupt(path, "Zarr", "not a Zarr store")
        try:
            ds = xr.open_zarr(path, consolidated=None, decode_times=False, mask_and_scale=False)
            wanted = options.get("variables")
            if wanted:
                ds = subset(ds, wanted)
            for var in ds.variables.values():  # fail now on missing chunks of the last block
                if var.size:
                    np.asarray(var[tuple(-1 for _ in var.shape)].values)
        except Exception as exc:  # noqa: BLE001 - any failure here means a damaged store
            raise corrupt(path, "Zarr", exc) from exc
        restore_attrs(ds)
        return ds
