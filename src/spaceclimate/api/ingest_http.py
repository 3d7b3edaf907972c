"""Publishing over HTTP: ``POST /ingest`` queues an ingest job of uploaded files or URLs.

Two bodies are accepted:

- ``multipart/form-data`` with one or more ``files`` parts (and an optional ``recipe``);
- ``application/json`` ``{"urls": ["https://...", ...], "recipe": null}``: the job fetches
  the URLs itself, through the hub's guarded client (:mod:`spaceclimate.net`): public
  addresses only unless ``SCO_FETCH_ALLOW_NETWORKS`` allows others, and
  ``SCO_INGEST_URL_PREFIXES`` may restrict where from, redirects included.

The key must cover every collection the files would publish (found from their names, or the
named recipe): checked here before anything is saved, and again by the job. The answer is
201 with the job's status document and its ``Location`` (``/jobs/{id}``); the job is the key's
(only it and admin keys see it), and its results list the collections and versions it
published (see :mod:`spaceclimate.ingest.remote`).
"""

from __future__ import annotations

import shutil
import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from spaceclimate.access import ApiKey, AuditEntry, access_for
from spaceclimate.api.jobaccess import submitter_of
from spaceclimate.api.processes import status_info
from spaceclimate.api.security import WRITE_RESPONSES, actor_of, key_dependency
from spaceclimate.api.urls import base_url
from spaceclimate.errors import InputError
from spaceclimate.ingest.remote import (
    FILES,
    check_scope,
    check_urls,
    safe_name,
    target_recipes,
    upload_dir,
    write_request,
)
from spaceclimate.net import FetchPolicy, redact
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.services.routers import RouterPlugin

MAX_FILES = 1000

_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "Source files (NetCDF, HDF4, GeoTIFF, CSV, ...).",
                    },
                    "recipe": {
                        "type": "string",
                        "description": "Recipe (collection id); default: matched by file name.",
                    },
                },
                "required": ["files"],
            }
        },
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "urls": {
                        "type": "array",
                        "items": {"type": "string", "format": "uri"},
                        "minItems": 1,
                        "description": "http(s) URLs of source files, fetched by the job.",
                    },
                    "recipe": {"type": "string"},
                },
                "required": ["urls"],
            },
            "example": {"urls": ["https://data.example.org/sm_esacci_combined_20000101.nc"]},
        },
    },
}


def _recipe(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise InputError("recipe: must be a recipe (collection) id")
    return value


def build(ctx: HubContext) -> APIRouter:
    """Return the ingest router."""
    router = APIRouter()
    FetchPolicy.from_settings(ctx.settings)  # a malformed SCO_FETCH_ALLOW_NETWORKS stops start-up
    access = access_for(ctx)
    require_key = key_dependency(ctx)

    def submit(
        ctx: HubContext,
        request: Request,
        key: ApiKey,
        names: list[str],
        uploads: list[UploadFile],
        urls: list[str],
        recipe: str | None,
    ) -> JSONResponse:
        if len(set(names)) != len(names):
            raise InputError("files: two files have the same name")
        recipes = target_recipes(names, recipe)
        check_scope(key, recipes)
        job_id = uuid.uuid4().hex
        folder = upload_dir(ctx.settings, job_id)
        actor = actor_of(request, key)
        try:
            write_request(folder, urls, actor)
            for name, upload in zip(names, uploads, strict=False):
                with (folder / FILES / name).open("wb") as out:
                    shutil.copyfileobj(upload.file, out, 1 << 20)
            inputs = {
                "files": names,
                "urls": [redact(u) for u in urls],
                "recipe": recipe,
                "collections": sorted(recipes),
            }
            job = ctx.jobs.create(
                "ingest",
                inputs,
                ctx.settings.job_time_limit,
                job_id=job_id,
                submitter=submitter_of(key),
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        access.audit.record(
            AuditEntry(
                "ingest.submit",
                actor,
                job_id=job.id,
                detail={"files": names, "collections": sorted(recipes)},
            )
        )
        base = base_url(request, ctx)
        return JSONResponse(
            status_info(job, base, ctx.settings),
            status_code=201,
            headers={"Location": f"{base}/jobs/{job.id}"},
        )

    @router.post(
        "/ingest",
        summary="Ingest source files (upload or URLs) as a job",
        operation_id="ingestSubmit",
        status_code=201,
        responses={
            201: {"description": "Job created; poll its Location (/jobs/{id})"},
            **WRITE_RESPONSES,
        },
        openapi_extra={"requestBody": _BODY},
    )
    async def ingest(
        request: Request, ctx: Context, key: ApiKey = Depends(require_key)
    ) -> JSONResponse:
        """Queue an ingest of uploaded files (multipart) or of URLs (JSON); 201 with the job."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            form = await request.form(max_files=MAX_FILES, max_fields=10)
            uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            if not uploads:
                raise InputError("files: send one or more files as multipart parts named 'files'")
            names = [safe_name(f.filename or "", f"files[{i}]") for i, f in enumerate(uploads)]
            recipe = _recipe(form.get("recipe"))
            return await run_in_threadpool(submit, ctx, request, key, names, uploads, [], recipe)
        if kind == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise InputError("request body: not JSON") from None
            if not isinstance(body, dict):
                raise InputError('request body: expected {"urls": [...], "recipe": ...}')
            unknown = sorted(set(body) - {"urls", "recipe"})
            if unknown:
                raise InputError(f"request body: unknown field {unknown[0]!r} (urls, recipe)")
            urls = check_urls(body.get("urls"), FetchPolicy.from_settings(ctx.settings))
            names = [safe_name(urlsplit(u).path, f"urls[{i}]") for i, u in enumerate(urls)]
            recipe = _recipe(body.get("recipe"))
            return await run_in_threadpool(submit, ctx, request, key, names, [], urls, recipe)
        raise InputError(
            "Content-Type: send multipart/form-data (files) or application/json (urls)"
        )

    return router


plugin = RouterPlugin(
    name="ingest",
    prefix="",
    build=build,
    conformance=(),
    description="Publishing over HTTP: ingest uploaded files or URLs as a job (API key)",
    order=55,
)
