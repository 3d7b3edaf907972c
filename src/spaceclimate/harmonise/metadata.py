"""CF-1.10 and ACDD-1.3 global attributes and provenance of a harmonised dataset."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate import __version__
from spaceclimate.ecv import get_ecv
from spaceclimate.ecv.models import Recipe
from spaceclimate.harmonise.core import SOURCE_ATTR
from spaceclimate.harmonise.grid import lonlat_bbox
from spaceclimate.harmonise.sourceattrs import SOURCE_ATTRS_KEY
from spaceclimate.records import SourceRecord


def iso(value: np.datetime64 | pd.Timestamp) -> str:
    """Format a timestamp as ISO 8601 UTC with a ``Z``."""
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_range(ds: xr.Dataset) -> tuple[str, str] | None:
    """Return the ISO start and end of the dataset's time cells, or None without time."""
    if "time" not in ds.dims:
        return None
    if "time_bnds" in ds.coords:
        b = ds["time_bnds"].values
        end = b.max()
        if end > b.min():  # bounds are half-open: the last second inside is the end
            end = end - np.timedelta64(1, "s")
        return iso(b.min()), iso(end)
    t = ds["time"].values
    return iso(t.min()), iso(t.max())


def finalize(
    ds: xr.Dataset,
    recipe: Recipe,
    sources: list[SourceRecord],
    digest: str,
    version: int,
    source_attrs: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Return *ds* with CF/ACDD global attributes and provenance for collection *version*.

    *source_attrs* are the attributes every source file gives alike (see
    :mod:`spaceclimate.harmonise.sourceattrs`); they are kept, and recorded in the provenance,
    with the recipe's ``attrs`` over them. The creator is the one they name (the sources
    carry a creator only with its contact), the recipe's first producer otherwise.
    """
    ecv = get_ecv(recipe.ecv)
    bbox = lonlat_bbox(ds, recipe.grid)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    producers = [p.name for p in recipe.providers if "producer" in p.roles] or [
        recipe.providers[0].name
    ]
    provenance = {
        "recipe": recipe.id,
        "recipe_file": recipe.source_path,
        "recipe_digest": digest,
        "software": f"spaceclimate {__version__}",
        "sources": [{"name": s.name, "sha256": s.sha256, "size": s.size} for s in sources],
        "source_attrs": dict(sorted((source_attrs or {}).items())),
    }
    attrs: dict[str, Any] = {
        "Conventions": "CF-1.10, ACDD-1.3",
        "title": recipe.title,
        "summary": recipe.description,
        "id": recipe.id,
        "naming_authority": "org.spaceclimate",
        "product_version": recipe.product_version,
        "sco_collection_version": version,
        "keywords": ", ".join(
            [ecv.title, *recipe.agencies, *recipe.missions, *recipe.instruments, *recipe.keywords]
        ),
        "license": recipe.license.text,
        "institution": ", ".join(producers),
        "creator_name": producers[0],
        "publisher_name": "Space Climate Observatory data hub",
        "platform": ", ".join(recipe.missions),
        "instrument": ", ".join(recipe.instruments),
        "source": "; ".join(s.name for s in sources),
        "processing_level": recipe.processing_level or "",
        "references": recipe.citation + (f" https://doi.org/{recipe.doi}" if recipe.doi else ""),
        "history": (
            f"{now} harmonised by spaceclimate {__version__} with recipe {recipe.id} "
            f"({digest[:12]}) from {len(sources)} source file(s)"
        ),
        "date_created": now,
        "cdm_data_type": "Grid" if recipe.grid.type != "none" else "TimeSeries",
        "geospatial_lon_min": bbox[0],
        "geospatial_lat_min": bbox[1],
        "geospatial_lon_max": bbox[2],
        "geospatial_lat_max": bbox[3],
        "geospatial_lat_units": "degrees_north",
        "geospatial_lon_units": "degrees_east",
        "sco_ecv": recipe.ecv,
        "provenance": json.dumps(provenance, sort_keys=True),
    }
    declared = {**(source_attrs or {}), **recipe.attrs}
    attrs.update(declared)
    if "creator_name" not in declared:  # the recipe's producer: an organisation
        attrs.setdefault("creator_type", "institution")
        attrs.setdefault("creator_institution", producers[0])
    if recipe.doi:
        attrs["doi"] = recipe.doi
    span = time_range(ds)
    if span:
        attrs["time_coverage_start"], attrs["time_coverage_end"] = span
        if recipe.time and recipe.time.resolution:
            attrs["time_coverage_resolution"] = recipe.time.resolution
    out = ds.copy()
    out.attrs = attrs
    out.attrs.pop(SOURCE_ATTR, None)
    out.attrs.pop(SOURCE_ATTRS_KEY, None)
    return out


def recorded_source_attrs(attrs: Mapping[str, Any]) -> dict[str, str]:
    """Return the source attributes a cube's provenance records (see :func:`finalize`).

    Empty for a cube whose provenance records none (made before they were carried): merged
    with it, a new version carries only what the new files agree on with nothing, nothing.
    """
    try:
        recorded = json.loads(str(attrs.get("provenance", "{}"))).get("source_attrs")
    except (ValueError, AttributeError):
        return {}
    if not isinstance(recorded, dict):
        return {}
    return {str(k): str(v) for k, v in recorded.items()}
