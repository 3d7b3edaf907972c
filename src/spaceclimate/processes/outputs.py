"""A run's outputs: series and summaries as JSON, derived cubes published, files written.

:func:`to_outputs` turns an operation's :class:`~spaceclimate.compute.registry.Result` into
the job's outputs. A derived cube is published as a collection (idempotent: the same request
on the same data finds the same collection) with its provenance: the operation, its inputs
and the versions of the collections it read.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate import __version__
from spaceclimate.catalog.derived import build_derived_collection, ensure_bounds
from spaceclimate.compute.registry import Operation, OperationInputs, Result
from spaceclimate.errors import InputError
from spaceclimate.jobs.env import JobEnv
from spaceclimate.processes.context import JobContext
from spaceclimate.publish import hub_lock, publish_version
from spaceclimate.records import SourceRecord
from spaceclimate.viewer import HUB, current_viewer, viewer_of_submitter, viewing


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
    process_version: str = __version__,
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
        "process_version": process_version,
        "parameters": dict(inputs),
        "inputs": [{"collection": cid, "version": v} for cid, v in versions.items()],
        "software": f"spaceclimate {__version__}",
    }
    # made with a key: that key's until published; without one (or on the hub's machine): public
    owner = env.submitter if env.submitter and env.submitter.startswith("key:") else None
    provenance["made_by"] = env.submitter or "hub"
    parts = {k: v for k, v in provenance.items() if k not in ("software", "made_by")}
    digest = _fingerprint({**parts, **({"owner": owner} if owner else {})})
    base_id = sources[0]["id"] if sources else "result"
    # a result is this hub's own: no ":" (the separator of peers' namespaces) in its id
    collection_id = f"{process_id}-{base_id.replace(':', '.')}-{digest[:10]}"[:200]
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
                        owner=owner,
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


def _series(result: Result) -> dict[str, Any]:
    """One series ``{time, values, units, long_name, ...}``, or several on one time axis."""
    series = result.series
    if isinstance(series, xr.DataArray):
        return series_output(series, **result.extra)
    assert series is not None
    shaped = {str(name): series_output(series[name]) for name in series.data_vars}
    first = next(iter(shaped.values()))
    return {
        "collection": result.sources[0].id if result.sources else "",
        "time": first["time"],
        "variables": {
            k: {"values": v["values"], "units": v["units"], "long_name": v["long_name"]}
            for k, v in shaped.items()
        },
    }


def write_file(ctx: JobContext, ds: xr.Dataset, name: str) -> dict[str, Any]:
    """Write *ds* to NetCDF in the hub's results folder; return the ``file`` output."""
    env = ctx.env
    home = env.settings.resolved_home
    folder = home / "results" / (env.job_id or uuid.uuid4().hex)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = target.with_suffix(".nc.part")
    for var in ds.variables.values():
        var.encoding = {}
    delayed = ds.to_netcdf(partial, compute=False, engine="netcdf4")
    ctx.compute(delayed, 0.05, 0.95, "writing NetCDF", local=True)  # a file of this machine
    partial.replace(target)
    return {
        "name": target.name,
        "size": target.stat().st_size,
        "path": str(target.relative_to(home)),
        "type": "application/x-netcdf",
    }


def to_outputs(
    operation: Operation, ctx: JobContext, inputs: OperationInputs, result: Result
) -> dict[str, Any]:
    """Turn an operation's result into the job's outputs (publishing a derived cube)."""
    outputs: dict[str, Any] = {}
    if result.series is not None:
        outputs["series"] = _series(result)
    if result.summary is not None:
        outputs["summary"] = result.summary
    if result.collection is not None:
        cube = ctx.compute(result.collection, 0.1, 0.85, result.message)
        outputs["collection"] = publish_derived(
            ctx.env,
            process_id=operation.id,
            inputs=inputs.values(),
            result=cube,
            sources=[s.doc for s in result.sources],
            title=result.title or f"{operation.title}, {result.sources[0].title}",
            description=result.description or operation.description,
            process_version=operation.version,
        )
    if result.file is not None:
        outputs["file"] = write_file(ctx, result.file, result.file_name)
    undeclared = sorted(set(outputs) - set(operation.outputs))
    if undeclared:
        raise RuntimeError(f"{operation.id} returned undeclared output(s): {undeclared}")
    return outputs


def run_operation(operation: Operation, env: JobEnv, inputs: OperationInputs) -> dict[str, Any]:
    """Run *operation* with validated *inputs* in a job's environment; return its outputs.

    A job runs as its submitter: it reads the public collections and its key's private ones
    (inside a request, as the request's viewer).
    """
    ctx = JobContext(env)
    viewer = current_viewer()
    if viewer is HUB and env.job_id is not None:
        viewer = viewer_of_submitter(env.submitter)
    with viewing(viewer):
        return to_outputs(operation, ctx, inputs, operation.run(ctx, inputs))
