"""GeoTIFF and Cloud-Optimised GeoTIFF rasters, one variable per band."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from spaceclimate.readers._common import corrupt, head
from spaceclimate.readers.base import Declared

MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class GeoTIFFReader:
    """Read a (Cloud-Optimised) GeoTIFF into a raw dataset with its CRS."""

    name: ClassVar[str] = "geotiff"
    description: ClassVar[str] = "GeoTIFF and COG rasters"

    def can_open(self, path: Path) -> bool:
        """TIFF magic bytes."""
        return path.is_file() and head(path, 4).startswith(MAGIC)

    def declared(self, path: Path, **options: Any) -> dict[str, Declared] | None:
        """Return the bands :meth:`open` would read, and its coordinates, from the header."""
        import rasterio
        from rasterio.errors import RasterioError

        if not self.can_open(path):
            return None
        try:
            with rasterio.open(path) as src:
                count, height, width, dtypes = src.count, src.height, src.width, src.dtypes
        except (RasterioError, OSError, ValueError):
            return None
        single = options.get("variable") if count == 1 else None
        found = {
            str(single or f"band_{i + 1}"): Declared((height, width), np.dtype(dtypes[i]))
            for i in range(count)
        }
        found["x"] = Declared((width,), np.dtype("f8"))
        found["y"] = Declared((height,), np.dtype("f8"))
        return found

    def open(self, path: Path, **options: Any) -> xr.Dataset:
        """Read every band; option ``variable`` names a single band's variable.

        Each band's variable carries the band's metadata items, its description (as
        ``long_name``) and units where the file declares them.
        """
        import rasterio
        from rasterio.errors import RasterioError

        if not self.can_open(path):
            raise corrupt(path, "GeoTIFF", "no TIFF signature")
        try:
            with rasterio.open(path) as src:
                bands = src.read()
                transform = src.transform
                crs = src.crs
                nodata = src.nodatavals
                scales, offsets = src.scales, src.offsets
                units, descriptions = src.units, src.descriptions
                band_tags = [src.tags(i + 1) for i in range(src.count)]
                tags = src.tags()
                height, width = src.height, src.width
        except (RasterioError, OSError, ValueError) as exc:
            raise corrupt(path, "GeoTIFF", exc) from exc
        if crs is None:
            raise corrupt(path, "GeoTIFF", "no coordinate reference system")
        x = transform.c + transform.a * (np.arange(width) + 0.5)
        y = transform.f + transform.e * (np.arange(height) + 0.5)
        ref_attrs = {
            "crs_wkt": crs.to_wkt(),
            "GeoTransform": " ".join(str(v) for v in transform.to_gdal()),
        }
        data: dict[str, Any] = {}
        for i in range(bands.shape[0]):
            name = (
                options.get("variable")
                if bands.shape[0] == 1 and options.get("variable")
                else f"band_{i + 1}"
            )
            attrs: dict[str, Any] = {k: v for k, v in band_tags[i].items() if len(str(v)) < 4096}
            if descriptions[i]:
                attrs["long_name"] = descriptions[i]
            if units[i]:
                attrs["units"] = units[i]
            attrs["grid_mapping"] = "spatial_ref"
            if nodata[i] is not None:
                attrs["_FillValue"] = np.asarray(nodata[i]).astype(bands.dtype)
            if scales[i] not in (None, 1.0):
                attrs["scale_factor"] = scales[i]
            if offsets[i] not in (None, 0.0):
                attrs["add_offset"] = offsets[i]
            data[str(name)] = (("y", "x"), bands[i], attrs)
        ds = xr.Dataset(
            data,
            coords={"x": ("x", x), "y": ("y", y), "spatial_ref": ((), np.int32(0), ref_attrs)},
        )
        ds.attrs.update({k: v for k, v in tags.items() if len(str(v)) < 4096})
        return ds
