"""Helpers every process uses: opening inputs, computing with progress, shaping outputs."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import xarray as xr
from dask.callbacks import Callback

from spaceclimate import __version__
from spaceclimate.catalog.derived import build_derived_collection, ensure_bounds
from spaceclimate.catalog.records import cube_href
from spaceclimate.compute.cluster import compute_on_cluster, dask_client
from spaceclimate.compute.subset import estimate_bytes, select_bbox, select_time
from spaceclimate.errors import InputError, NotFoundError
from spaceclimate.jobs.env import JobEnv
from spaceclimate.params import parse_interval
from spaceclimate.publish import hub_lock, publish_version
from spaceclimate.records import SourceRecord

T = TypeVar("T", xr.Dataset, xr.DataArray)


def open_input(
    env: JobEnv, collection_id: str, name: str = "collection"
) -> tuple[xr.Dataset, dict[str, Any]]:
    """Return the latest cube of a collection and its STAC document."""
    try:
        doc = env.catalog.get_collection(collection_id)
    except NotFoundError:
        known = [c["id"] for c in env.catalog.list_collections()]
        raise NotFoundError(
            f"inputs.{name}: no collection {collection_id!r}; known: {', '.join(known)}",
            known=known,
        ) from None
    return env.store.open(cube_href(doc)), doc


def pick_variable(ds: xr.Dataset, name: str | None, parameter: str = "variable") -> xr.DataArray:
    """Return a data variable (the first when *name* is None); 404 naming the known ones."""
    known = [str(v) for v in ds.data_vars]
    if name is None:
        return ds[known[0]]
    if name not in ds.data_vars:
        raise NotFoundError(
            f"inputs.{parameter}: no variable {name!r}; known: {', '.join(known)}", known=known
        )
    return ds[name]


def select(
    ds: xr.Dataset, datetime_text: str | None = None, bbox: Sequence[float] | None = None
) -> xr.Dataset:
    """Select a time range and a bbox of a cube (lazily)."""
    interval = parse_interval(datetime_text, "inputs.datetime")
    if interval is not None:
        if "time" not in ds.dims:
            raise InputError("inputs.datetime: the collection has no time axis")
        ds = select_time(ds, interval[0], interval[1], "inputs.datetime")
        if ds.sizes["time"] == 0:
            raise InputError("inputs.datetime: no time step in that range")
    if bbox is not None:
        ds = select_bbox(ds, (bbox[0], bbox[1], bbox[2], bbox[3]), "inputs.bbox").masked()
    return ds


def input_bytes(ds: xr.Dataset, variables: Sequence[str] | None = None) -> int:
    """Decoded bytes of the variables a process reads."""
    if variables:
        ds = ds[[v for v in variables if v in ds.data_vars]]
    return estimate_bytes(ds, data_only=True)


class _DaskProgress(Callback):  # type: ignore[misc]
    """Report dask task completion as job progress; stop when the job must stop."""

    def __init__(self, env: JobEnv, low: float, high: float, message: str) -> None:
        super().__init__()
        self.env, self.low, self.high, self.message = env, low, high, message
        self.total = 1
        self.done = 0
        self.last = 0.0

    def _start_state(self, _dsk: Any, state: Mapping[str, Any]) -> None:
        self.total = max(1, sum(len(state[k]) for k in ("ready", "waiting", "running", "finished")))

    def _posttask(self, *_args: Any) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last > 0.5:
            self.last = now
            self.env.check()
            self.env.report(
                self.low + (self.high - self.low) * self.done / self.total, self.message
            )


def compute(env: JobEnv, obj: T, low: float, high: float, message: str, local: bool = False) -> T:
    """Compute a lazy result with progress between *low* and *high* (fractions of the job).

    With ``SCO_DASK_SCHEDULER`` the work runs on that cluster (progress from its futures; a
    dismissed job's futures are cancelled there), unless *local* (work that writes files of
    this machine); otherwise on Dask threads of this process.
    """
    env.report(low, message)
    client = None if local else dask_client(getattr(env.settings, "dask_scheduler", None))
    if client is not None:

        def progress(done: int, total: int) -> None:
            env.check()
            env.report(low + (high - low) * done / max(1, total), message)

        out = compute_on_cluster(client, obj, progress)
    else:
        with _DaskProgress(env, low, high, message):
            out = obj.compute()
    env.report(high, message)
    return out


def iso_times(values: Any) -> list[str]:
    """Format time values as ISO 8601 strings (Z)."""
    return [pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%SZ") for v in np.asarray(values)]


def finite_list(values: Any) -> list[float | None]:
    """Return values as a JSON list with NaN as null."""
    arr = np.asarray(values, dtype="float64").ravel()
    return [None if not np.isfinite(v) else float(v) for v in arr]


def series_output(da: xr.DataArray, **extra: Any) -> dict[str, Any]:
    """Return a 1-D time series as ``{time, values, units, ...}``."""
    if "time" not in da.dims:
        raise InputError("the result has no time axis")
    other = [d for d in da.dims if d != "time"]
    if other:
        da = da.isel(dict.fromkeys(other, 0))
    return {
        "time": iso_times(da["time"].values),
        "values": finite_list(da.values),
        "units": str(da.attrs.get("units", "")),
        "long_name": str(da.attrs.get("long_name", da.name or "")),
        **extra,
    }


def _fingerprint(parts: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def publish_derived(
    env: JobEnv,
    *,
    process_id: str,
    inputs: Mapping[str, Any],
    result: xr.Dataset,
    sources: Sequence[dict[str, Any]],
    title: str,
    description: str,
) -> dict[str, Any]:
    """Publish *result* as a derived collection (idempotent for the same inputs); return links.

    The collection's id is a digest of the process, its inputs and the input collections'
    versions, so the same request on the same data finds the same collection.
    """
    grid_mappings = [n for n in result.data_vars if "crs_wkt" in result[n].attrs]
    result = result.set_coords(grid_mappings)  # the projection stays with the grid
    result = result[[n for n in result.data_vars if result[n].ndim > 0]]  # scalars: summaries
    versions = {doc["id"]: int(doc.get("sco:version", 0)) for doc in sources}
    provenance = {
        "process": process_id,
        "parameters": dict(inputs),
        "inputs": [{"collection": cid, "version": v} for cid, v in versions.items()],
        "software": f"spaceclimate {__version__}",
    }
    digest = _fingerprint({k: v for k, v in provenance.items() if k != "software"})
    base_id = sources[0]["id"] if sources else "result"
    collection_id = f"{process_id}-{base_id}-{digest[:10]}"[:200]
    existing = env.catalog.latest_version(collection_id)
    if existing is None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        cube = ensure_bounds(result)
        cube.attrs = {
            **{k: v for k, v in result.attrs.items() if isinstance(v, str | int | float)},
            "Conventions": "CF-1.10, ACDD-1.3",
            "title": title,
            "summary": description,
            "id": collection_id,
            "date_created": now,
            "publisher_name": "Space Climate Observatory data hub",
            "source": "; ".join(f"{cid} v{v}" for cid, v in versions.items()),
            "references": "; ".join(str(d.get("sci:citation", "")) for d in sources),
            "provenance": json.dumps(provenance, sort_keys=True),
            "sco_collection_version": 1,
        }
        ecv = str(sources[0].get("sco:ecv", "derived")) if sources else "derived"
        records = []
        for doc in sources:
            latest = env.catalog.latest_version(doc["id"])
            records.append(
                SourceRecord(
                    name=f"{doc['id']} v{versions[doc['id']]}",
                    sha256=latest.fingerprint if latest else "",
                    size=0,
                    item_id=doc["id"],
                )
            )
        item = _result_item(cube, collection_id, sources)
        env.report(0.9, "publishing the derived collection")
        with hub_lock(env.settings.resolved_home):
            if env.catalog.latest_version(collection_id) is None:
                publish_version(
                    env.store,
                    env.catalog,
                    collection_id=collection_id,
                    version=1,
                    cube=cube,
                    build_collection=lambda href: build_derived_collection(
                        cube,
                        collection_id=collection_id,
                        title=title,
                        description=description,
                        version=1,
                        cube_href=href,
                        inputs=list(sources),
                        derived_from=provenance,
                        ecv=ecv,
                    ),
                    items=[item],
                    fingerprint=digest,
                    recipe_digest=_fingerprint({"process": process_id}),
                    sources=records,
                )
    return {
        "collection": collection_id,
        "links": [
            {
                "rel": "collection",
                "href": f"/stac/collections/{collection_id}",
                "type": "application/json",
            },
            {"rel": "zarr", "href": f"/zarr/{collection_id}", "type": "application/vnd+zarr"},
            {"rel": "edr", "href": f"/edr/collections/{collection_id}", "type": "application/json"},
        ],
        "variables": [str(v) for v in result.data_vars],
    }


def _result_item(
    cube: xr.Dataset, collection_id: str, sources: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    bbox = sources[0]["extent"]["spatial"]["bbox"][0] if sources else [-180, -90, 180, 90]
    if "lat" in cube.dims and "lon" in cube.dims:
        bbox = [
            float(cube["lon_bnds"].min()),
            float(cube["lat_bnds"].min()),
            float(cube["lon_bnds"].max()),
            float(cube["lat_bnds"].max()),
        ]
    w, s, e, n = (float(v) for v in bbox[:4])
    props: dict[str, Any] = {"sco:derived": True, "sco:version": 1}
    if "time" in cube.dims and cube.sizes["time"]:
        times = iso_times(cube["time"].values)
        props.update({"datetime": None, "start_datetime": min(times), "end_datetime": max(times)})
    else:
        props.update({"datetime": None, "sco:static": True})
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [],
        "id": f"{collection_id}-result",
        "collection": collection_id,
        "bbox": [w, s, e, n],
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
        },
        "properties": props,
        "assets": {},
        "links": [],
    }
