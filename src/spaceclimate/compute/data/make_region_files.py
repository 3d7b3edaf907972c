"""Rebuild the region GeoJSON files of this folder from their published shapefiles.

Not imported by the package; run by hand when a source is updated::

    python make_region_files.py AR6_DIR/IPCC-WGI-reference-regions-v4.shp \
        NE_DIR/naturalearth_lowres.shp

It writes ``ar6_reference_regions.geojson`` and ``countries_ne110m.geojson`` beside itself:
one Feature per region, coordinates rounded (``AR6_DECIMALS``, ``NE_DECIMALS``), vertices that
lie on a straight line between their neighbours removed (no change of shape), and only the
properties the hub uses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import mapping

HERE = Path(__file__).parent
AR6_DECIMALS = 4  # about 10 m; the region edges are defined on a 0.5° to 1e-3° raster
NE_DECIMALS = 3  # about 100 m; the 1:110m outlines are accurate to a few km only
#: Natural Earth leaves Kosovo without an ISO 3166 code; XKX is the code in common use.
ISO_FIXES = {"Kosovo": "XKX"}


def _clean(geom: Any, decimals: int) -> Any:
    geom = shapely.set_precision(geom, 10.0**-decimals)
    geom = geom.simplify(0.0, preserve_topology=True)  # drops collinear vertices only
    return shapely.make_valid(geom)


def _features(rows: list[tuple[dict[str, Any], Any]]) -> dict[str, Any]:
    feats = []
    for props, geom in rows:
        feats.append({"type": "Feature", "properties": props, "geometry": mapping(geom)})
    return {"type": "FeatureCollection", "features": feats}


def build_ar6(shapefile: Path) -> dict[str, Any]:
    """Return the AR6 reference regions (Iturbide et al. 2020) as a FeatureCollection."""
    frame = gpd.read_file(shapefile)
    rows = []
    for number, row in enumerate(frame.itertuples()):
        props = {
            "number": number,
            "abbrev": str(row.Acronym),
            "name": str(row.Name),
            "type": str(row.Type),
            "continent": str(row.Continent),
        }
        rows.append((props, _clean(row.geometry, AR6_DECIMALS)))
    return _features(rows)


def build_countries(shapefile: Path) -> dict[str, Any]:
    """Return the Natural Earth 1:110m countries as a FeatureCollection."""
    frame = gpd.read_file(shapefile).sort_values("name").reset_index(drop=True)
    rows = []
    for number, row in enumerate(frame.itertuples()):
        iso = ISO_FIXES.get(str(row.name), str(row.iso_a3))
        props = {
            "number": number,
            "abbrev": iso,
            "name": str(row.name),
            "continent": str(row.continent),
        }
        rows.append((props, _clean(row.geometry, NE_DECIMALS)))
    return _features(rows)


def _write(doc: dict[str, Any], name: str) -> None:
    text = json.dumps(doc, separators=(",", ":"))
    (HERE / name).write_text(text + "\n", encoding="utf-8")


def main(argv: list[str]) -> None:
    """Write both files from the shapefiles named in *argv*."""
    ar6, countries = Path(argv[0]), Path(argv[1])
    _write(build_ar6(ar6), "ar6_reference_regions.geojson")
    _write(build_countries(countries), "countries_ne110m.geojson")


if __name__ == "__main__":
    main(sys.argv[1:])
