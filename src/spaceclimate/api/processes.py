"""OGC API Processes 1.0 at ``/processes`` and ``/jobs``, and the named regions at ``/regions``.

``POST /processes/{id}/execution`` runs a process: synchronously when the request is small
enough (its input size is estimated first; above the limit the answer is 413 with the
estimate and the hint to ask for ``Prefer: respond-async``), or as a job when the client
sends ``Prefer: respond-async`` (201 with a ``Location`` to poll). Jobs live in the catalog
database and are run by the API processes' job runners (see :mod:`spaceclimate.jobs`).
"""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from spaceclimate.api.urls import base_url
from spaceclimate.compute.regions import REGION_SETS, list_regions, lookup_region, region_set
from spaceclimate.errors import ConflictError, InputError, NotFoundError, TooLargeError
from spaceclimate.jobs.env import JobEnv
from spaceclimate.jobs.runner import run_job
from spaceclimate.jobs.store import JobRecord, owner_id
from spaceclimate.processes import execute_job, get_operation, list_operations
from spaceclimate.processes.describe import description_document
from spaceclimate.processes.estimate import estimate
from spaceclimate.services.context import HubContext, human_bytes
from spaceclimate.services.deps import Context
from spaceclimate.services.routers import RouterPlugin

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf"
CONFORMANCE = (
    f"{CONF}/core",
    f"{CONF}/ogc-process-description",
    f"{CONF}/json",
    f"{CONF}/oas30",
    f"{CONF}/job-list",
    f"{CONF}/dismiss",
)
MAX_TIME_LIMIT = 24 * 3600.0


def _absolute(value: Any, base: str) -> Any:
    """Make root-relative ``href`` values of an output document absolute."""
    if isinstance(value, dict):
        out = {k: _absolute(v, base) for k, v in value.items()}
        href = out.get("href")
        if isinstance(href, str) and href.startswith("/"):
            out["href"] = base + href
        return out
    if isinstance(value, list):
        return [_absolute(v, base) for v in value]
    return value


def status_info(job: JobRecord, base: str) -> dict[str, Any]:
    """Return the OGC statusInfo document of a job."""
    here = f"{base}/jobs/{job.id}"
    links = [{"rel": "self", "href": here, "type": "application/json"}]
    if job.status == "successful":
        links.append(
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/results",
                "href": f"{here}/results",
                "type": "application/json",
            }
        )
    info: dict[str, Any] = {
        "type": "process",
        "jobID": job.id,
        "processID": job.process_id,
        "status": job.status,
        "message": job.message,
        "progress": job.progress,
        "created": job.created,
        "updated": job.updated,
        "links": links,
        "sco:inputs": job.inputs,
        "sco:attempts": job.attempts,
    }
    if job.started:
        info["started"] = job.started
    if job.finished:
        info["finished"] = job.finished
    return info


def _results(job: JobRecord, base: str) -> dict[str, Any]:
    outputs = dict(job.results or {})
    file = outputs.get("file")
    if isinstance(file, dict):
        outputs["file"] = {
            **{k: v for k, v in file.items() if k != "path"},
            "href": f"/jobs/{job.id}/results/file",
        }
    return dict(_absolute(outputs, base))


@cache
def _region_listing(kind: str) -> tuple[dict[str, Any], ...]:
    regions_ = region_set(kind)  # type: ignore[arg-type]
    out = []
    for props, polygon in zip(list_regions(kind), regions_.polygons, strict=True):  # type: ignore[arg-type]
        out.append(
            {
                "id": f"{kind}:{props['abbrev']}",
                "abbrev": props["abbrev"],
                "name": props["name"],
                "kind": kind,
                "bbox": [round(float(v), 4) for v in polygon.bounds],
            }
        )
    return tuple(out)


def build(ctx: HubContext) -> APIRouter:
    """Return the Processes, jobs and regions router."""
    router = APIRouter()

    def env(ctx: HubContext, job_id: str | None = None) -> JobEnv:
        return JobEnv(ctx.settings, ctx.catalog, ctx.store, job_id=job_id)

    @router.get("/processes", summary="List processes", operation_id="processesList")
    def processes(request: Request, *, ctx: Context) -> dict[str, Any]:
        """The processes the hub runs."""
        base = base_url(request, ctx)
        summaries = []
        for operation in list_operations().values():
            doc = description_document(operation, base)
            doc.pop("inputs")
            doc.pop("outputs")
            summaries.append(doc)
        return {
            "processes": summaries,
            "links": [{"rel": "self", "href": f"{base}/processes", "type": "application/json"}],
        }

    @router.get(
        "/processes/{process_id}", summary="Describe a process", operation_id="processesGet"
    )
    def process(process_id: str, request: Request, *, ctx: Context) -> dict[str, Any]:
        """A process's inputs and outputs."""
        return description_document(get_operation(process_id), base_url(request, ctx))

    @router.post(
        "/processes/{process_id}/execution",
        summary="Execute a process",
        operation_id="processesExecute",
        responses={201: {"description": "Job created (asynchronous execution)"}},
    )
    def execution(
        process_id: str,
        request: Request,
        response: Response,
        body: dict[str, Any] = Body(
            ...,
            examples=[
                {
                    "inputs": {
                        "collection": "ukmo-ostia-sst-daily",
                        "variable": "sst",
                        "region": "NAO",
                    }
                }
            ],
        ),
        prefer: str | None = Header(default=None, description="respond-async for a job"),
        *,
        ctx: Context,
    ) -> Any:
        """Run a process: at once (small requests) or as a job (``Prefer: respond-async``)."""
        base = base_url(request, ctx)
        operation = get_operation(process_id)
        inputs = operation.validate(body.get("inputs", {}))
        limit = body.get("sco:time_limit", ctx.settings.job_time_limit)
        if not isinstance(limit, int | float) or not 1 <= float(limit) <= MAX_TIME_LIMIT:
            raise InputError(f"sco:time_limit: seconds between 1 and {MAX_TIME_LIMIT:g}")
        size = estimate(operation, env(ctx), inputs)
        if prefer and "respond-async" in prefer.replace(" ", "").lower():
            job = ctx.jobs.create(process_id, inputs.values(), float(limit))
            return JSONResponse(
                status_info(job, base),
                status_code=201,
                headers={
                    "Location": f"{base}/jobs/{job.id}",
                    "Preference-Applied": "respond-async",
                },
            )
        if size > ctx.max_bytes:
            raise TooLargeError(
                f"{process_id} would read about {human_bytes(size)}, over the limit of "
                f"{human_bytes(ctx.max_bytes)} for an immediate answer; send the same request "
                "with the header 'Prefer: respond-async' to run it as a job",
                estimate_bytes=size,
                limit_bytes=ctx.max_bytes,
                hint="Prefer: respond-async",
            )
        # created running for this process: a job worker polling the queue cannot take it
        claimed = ctx.jobs.create(process_id, inputs.values(), float(limit), owner=owner_id())
        done = run_job(claimed, ctx.jobs, ctx.settings, ctx.catalog, ctx.store, execute_job)
        response.headers["Location"] = f"{base}/jobs/{done.id}"
        if done.status != "successful":
            results = done.results or {}
            status = int(results.get("status", 422)) if isinstance(results, dict) else 422
            if status == 404:
                raise NotFoundError(
                    done.message, **{k: v for k, v in results.items() if k == "known"}
                )
            raise InputError(done.message)
        return _results(done, base)

    @router.get("/jobs", summary="List jobs", operation_id="jobsList")
    def jobs(
        request: Request,
        status: str | None = Query(
            default=None, pattern="^(accepted|running|successful|failed|dismissed)$"
        ),
        process_id: str | None = Query(default=None, alias="processID", max_length=100),
        limit: int = Query(default=100, ge=1, le=1000),
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """Jobs, newest first."""
        base = base_url(request, ctx)
        found = ctx.jobs.list_jobs(status=status, process_id=process_id, limit=limit)
        return {
            "jobs": [status_info(j, base) for j in found],
            "links": [{"rel": "self", "href": f"{base}/jobs", "type": "application/json"}],
        }

    @router.get("/jobs/{job_id}", summary="Job status", operation_id="jobsGet")
    def job(job_id: str, request: Request, *, ctx: Context) -> dict[str, Any]:
        """A job's status and progress."""
        return status_info(ctx.jobs.get(job_id), base_url(request, ctx))

    @router.delete("/jobs/{job_id}", summary="Dismiss a job", operation_id="jobsDismiss")
    def dismiss(job_id: str, request: Request, *, ctx: Context) -> dict[str, Any]:
        """Cancel a queued or running job."""
        job = ctx.jobs.dismiss(job_id)
        deadline = time.monotonic() + 2.0
        while job.status == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
            job = ctx.jobs.get(job_id)
        return status_info(job, base_url(request, ctx))

    @router.get("/jobs/{job_id}/results", summary="Job results", operation_id="jobsResults")
    def results(job_id: str, request: Request, *, ctx: Context) -> dict[str, Any]:
        """The outputs of a successful job."""
        job = ctx.jobs.get(job_id)
        if job.status in ("accepted", "running"):
            raise NotFoundError(f"job {job_id} has no results yet ({job.status}, {job.progress}%)")
        if job.status != "successful":
            raise ConflictError(f"job {job_id} ended {job.status}: {job.message}")
        return _results(job, base_url(request, ctx))

    @router.get(
        "/jobs/{job_id}/results/file", summary="Job result file", operation_id="jobsResultFile"
    )
    def result_file(job_id: str, *, ctx: Context) -> FileResponse:
        """The file a job wrote (subset)."""
        job = ctx.jobs.get(job_id)
        file = (job.results or {}).get("file") if job.status == "successful" else None
        if not isinstance(file, dict):
            raise NotFoundError(f"job {job_id} has no result file")
        home = ctx.settings.resolved_home
        path = (home / str(file["path"])).resolve()
        if home not in path.parents or not path.is_file():
            raise NotFoundError(f"the result file of job {job_id} is gone")
        return FileResponse(path, media_type=str(file.get("type")), filename=Path(path).name)

    @router.get("/regions", summary="Named regions", operation_id="regionsList")
    def regions(
        kind: str | None = Query(default=None, pattern="^(ar6|country)$"),
    ) -> dict[str, Any]:
        """IPCC AR6 reference regions and countries usable as ``region`` inputs."""
        kinds = [kind] if kind else list(REGION_SETS)
        return {"regions": [r for k in kinds for r in _region_listing(k)]}

    @router.get("/regions/{region_id}", summary="One region", operation_id="regionsGet")
    def region(region_id: str) -> dict[str, Any]:
        """A region as a GeoJSON Feature."""
        label, regions_ = lookup_region(region_id)
        geom = regions_.polygons[0]
        return {
            "type": "Feature",
            "id": region_id,
            "properties": {
                "label": label,
                "name": regions_.names[0],
                "abbrev": regions_.abbrevs[0],
            },
            "bbox": [float(v) for v in geom.bounds],
            "geometry": geom.__geo_interface__,
        }

    return router


plugin = RouterPlugin(
    name="processes",
    prefix="",
    build=build,
    conformance=CONFORMANCE,
    description="OGC API Processes: analytics as synchronous requests or jobs",
    order=50,
)
