"""OGC API Processes 1.0 at ``/processes`` and ``/jobs``, and the named regions at ``/regions``.

``POST /processes/{id}/execution`` runs a process: synchronously when the request is small
enough (its input size is estimated first; above the limit the answer is 413 with the
estimate and the hint to ask for ``Prefer: respond-async``), or as a job when the client
sends ``Prefer: respond-async`` (201 with a ``Location`` to poll). Jobs live in the catalog
database and are run by the API processes' job runners (see :mod:`spaceclimate.jobs`).

A job is its submitter's: the API key that sent it, or, for an anonymous client, whoever
holds the access token its links carry (:mod:`spaceclimate.api.jobaccess`). Its messages are
shown without the server's paths, keys or addresses (:mod:`spaceclimate.jobs.public`).
"""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from spaceclimate.access import ApiKey
from spaceclimate.api.jobaccess import (
    JOB_RESPONSES,
    KEY_RESPONSES,
    OPTIONAL_KEY,
    Submission,
    access_param,
    check_job_access,
    submitter_of,
    with_access,
)
from spaceclimate.api.security import WRITE_RESPONSES, key_dependency, optional_key_dependency
from spaceclimate.api.urls import base_url
from spaceclimate.compute.regions import REGION_SETS, list_regions, lookup_region, region_set
from spaceclimate.config import Settings
from spaceclimate.errors import (
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    TooLargeError,
)
from spaceclimate.jobs.env import JobEnv
from spaceclimate.jobs.public import public_message
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


def status_info(
    job: JobRecord, base: str, settings: Settings, token: str | None = None
) -> dict[str, Any]:
    """Return the OGC statusInfo document of a job (its links carry the access *token*)."""
    here = f"{base}/jobs/{job.id}"
    links = [{"rel": "self", "href": with_access(here, token), "type": "application/json"}]
    if job.status == "successful":
        links.append(
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/results",
                "href": with_access(f"{here}/results", token),
                "type": "application/json",
            }
        )
    info: dict[str, Any] = {
        "type": "process",
        "jobID": job.id,
        "processID": job.process_id,
        "status": job.status,
        "message": public_message(job.message, settings),
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


def _results(job: JobRecord, base: str, token: str | None = None) -> dict[str, Any]:
    outputs = dict(job.results or {})
    file = outputs.get("file")
    if isinstance(file, dict):
        outputs["file"] = {
            **{k: v for k, v in file.items() if k != "path"},
            "href": with_access(f"/jobs/{job.id}/results/file", token),
        }
    return dict(_absolute(outputs, base))


def _created(job: JobRecord, base: str, settings: Settings, token: str | None) -> dict[str, Any]:
    """The status of a job just created: with its access token for an anonymous client."""
    info = status_info(job, base, settings, token)
    if token:
        info["sco:access"] = token
    return info


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

    optional_key = Depends(optional_key_dependency(ctx))
    required_key = Depends(key_dependency(ctx))

    @router.post(
        "/processes/{process_id}/execution",
        summary="Execute a process",
        operation_id="processesExecute",
        responses={
            201: {
                "description": "Job created (asynchronous execution); without an API key its "
                "links (and sco:access) carry the job's access token"
            },
            **KEY_RESPONSES,
        },
        openapi_extra=OPTIONAL_KEY,
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
        key: ApiKey | None = optional_key,
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
        who = Submission.of(key)
        if prefer and "respond-async" in prefer.replace(" ", "").lower():
            job = ctx.jobs.create(
                process_id,
                inputs.values(),
                float(limit),
                submitter=who.submitter,
                access_digest=who.digest,
            )
            return JSONResponse(
                _created(job, base, ctx.settings, who.token),
                status_code=201,
                headers={
                    "Location": with_access(f"{base}/jobs/{job.id}", who.token),
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
        claimed = ctx.jobs.create(
            process_id,
            inputs.values(),
            float(limit),
            owner=owner_id(),
            submitter=who.submitter,
            access_digest=who.digest,
        )
        done = run_job(claimed, ctx.jobs, ctx.settings, ctx.catalog, ctx.store, execute_job)
        response.headers["Location"] = with_access(f"{base}/jobs/{done.id}", who.token)
        if done.status != "successful":
            message = public_message(done.message, ctx.settings)
            results = done.results or {}
            status = int(results.get("status", 422)) if isinstance(results, dict) else 422
            if status == 404:
                raise NotFoundError(message, **{k: v for k, v in results.items() if k == "known"})
            raise InputError(message)
        return _results(done, base, who.token)

    def own_job(
        ctx: HubContext, job_id: str, key: ApiKey | None, token: str | None
    ) -> tuple[JobRecord, str | None]:
        """The job *job_id* and the token granting it when the caller may see it (else
        404, 401 or 403)."""
        job = ctx.jobs.get(job_id)
        return job, check_job_access(job, key, token)

    @router.get(
        "/jobs",
        summary="List jobs",
        operation_id="jobsList",
        responses=KEY_RESPONSES,
        openapi_extra=OPTIONAL_KEY,
    )
    def jobs(
        request: Request,
        status: str | None = Query(
            default=None, pattern="^(accepted|running|successful|failed|dismissed)$"
        ),
        process_id: str | None = Query(default=None, alias="processID", max_length=100),
        limit: int = Query(default=100, ge=1, le=1000),
        key: ApiKey | None = optional_key,
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """The caller's jobs, newest first: an API key's own, every job for an admin key.

        An anonymous client's jobs are not listed: it reaches each by the links it was given.
        """
        base = base_url(request, ctx)
        found: list[JobRecord] = []
        if key is not None:
            submitter = None if key.is_admin else submitter_of(key)
            found = ctx.jobs.list_jobs(
                status=status, process_id=process_id, limit=limit, submitter=submitter
            )
        return {
            "jobs": [status_info(j, base, ctx.settings) for j in found],
            "links": [{"rel": "self", "href": f"{base}/jobs", "type": "application/json"}],
        }

    @router.get(
        "/jobs/{job_id}",
        summary="Job status",
        operation_id="jobsGet",
        responses=JOB_RESPONSES,
        openapi_extra=OPTIONAL_KEY,
    )
    def job(
        job_id: str,
        request: Request,
        access: str | None = access_param(),
        key: ApiKey | None = optional_key,
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """A job's status and progress."""
        found, token = own_job(ctx, job_id, key, access)
        return status_info(found, base_url(request, ctx), ctx.settings, token)

    @router.delete(
        "/jobs/{job_id}",
        summary="Dismiss a job",
        operation_id="jobsDismiss",
        responses=JOB_RESPONSES,
        openapi_extra=OPTIONAL_KEY,
    )
    def dismiss(
        job_id: str,
        request: Request,
        access: str | None = access_param(),
        key: ApiKey | None = optional_key,
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """Cancel a queued or running job."""
        _found, token = own_job(ctx, job_id, key, access)
        job = ctx.jobs.dismiss(job_id)
        deadline = time.monotonic() + 2.0
        while job.status == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
            job = ctx.jobs.get(job_id)
        return status_info(job, base_url(request, ctx), ctx.settings, token)

    @router.get(
        "/jobs/{job_id}/results",
        summary="Job results",
        operation_id="jobsResults",
        responses=JOB_RESPONSES,
        openapi_extra=OPTIONAL_KEY,
    )
    def results(
        job_id: str,
        request: Request,
        access: str | None = access_param(),
        key: ApiKey | None = optional_key,
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """The outputs of a successful job."""
        job, token = own_job(ctx, job_id, key, access)
        if job.status in ("accepted", "running"):
            raise NotFoundError(f"job {job_id} has no results yet ({job.status}, {job.progress}%)")
        if job.status != "successful":
            message = public_message(job.message, ctx.settings)
            raise ConflictError(f"job {job_id} ended {job.status}: {message}")
        return _results(job, base_url(request, ctx), token)

    @router.get(
        "/jobs/{job_id}/results/file",
        summary="Job result file",
        operation_id="jobsResultFile",
        responses=JOB_RESPONSES,
        openapi_extra=OPTIONAL_KEY,
    )
    def result_file(
        job_id: str,
        access: str | None = access_param(),
        key: ApiKey | None = optional_key,
        *,
        ctx: Context,
    ) -> FileResponse:
        """The file a job wrote (subset)."""
        job, _token = own_job(ctx, job_id, key, access)
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

    @router.post(
        "/derived/{collection_id}/publish",
        summary="Publish a derived collection: seen by everyone, not only its key",
        responses=WRITE_RESPONSES,
    )
    def publish_derived_collection(
        collection_id: str, key: ApiKey = required_key, *, ctx: Context
    ) -> dict[str, Any]:
        """Make a private derived collection public (its key or an admin key)."""
        doc = ctx.catalog.get_collection(collection_id)  # 404 unless the key sees it
        if not doc.get("sco:derived"):
            raise InputError(f"{collection_id!r} is not a derived collection")
        owner = doc.get("sco:owner")
        if owner is not None and not key.is_admin and owner != submitter_of(key):
            raise ForbiddenError(f"{collection_id!r} belongs to another key")
        published = ctx.catalog.set_owner(collection_id, None)
        return {
            "collection": collection_id,
            "published": True,
            "sco:made_by": published.get("sco:made_by"),
        }

    return router


plugin = RouterPlugin(
    name="processes",
    prefix="",
    build=build,
    conformance=CONFORMANCE,
    description="OGC API Processes: analytics as synchronous requests or jobs",
    order=50,
    heavy=(r"/processes/[^/]+/execution",),
)
