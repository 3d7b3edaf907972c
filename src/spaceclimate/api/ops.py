"""Operations: Prometheus metrics at ``/metrics`` and the audit log at ``/admin/audit``.

``/metrics`` is anonymous like every read (restrict it at the load balancer if needed); the
audit log needs an admin key.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from spaceclimate.access import ApiKey, access_for
from spaceclimate.access.audit import ACTIONS
from spaceclimate.api.security import WRITE_RESPONSES, admin_dependency
from spaceclimate.api.urls import base_url
from spaceclimate.catalog.validate import parse_instant
from spaceclimate.ops.metrics import MEDIA_TYPE, render
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.services.routers import RouterPlugin

ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: WRITE_RESPONSES[401],
    403: {**WRITE_RESPONSES[403], "description": "Not an admin key"},
}


def build(ctx: HubContext) -> APIRouter:
    """Return the operations router."""
    router = APIRouter()
    access = access_for(ctx)
    require_admin = admin_dependency(ctx)

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        operation_id="opsMetrics",
        response_class=Response,
        responses={200: {"description": "Prometheus text format", "content": {MEDIA_TYPE: {}}}},
    )
    def metrics(*, ctx: Context) -> Response:
        """Requests, latencies, bytes, rate limits, workers, jobs by state (all workers)."""
        return Response(render(ctx), media_type=MEDIA_TYPE)

    @router.get(
        "/admin/audit",
        summary="Audit log (admin key)",
        operation_id="opsAudit",
        responses=ADMIN_RESPONSES,
    )
    def audit(
        request: Request,
        collection: Annotated[str | None, Query(max_length=200)] = None,
        key_id: Annotated[str | None, Query(alias="key", max_length=32)] = None,
        action: Annotated[str | None, Query(pattern=f"^({'|'.join(ACTIONS)})$")] = None,
        job: Annotated[str | None, Query(max_length=64)] = None,
        since: Annotated[str | None, Query(description="RFC 3339 time", max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        admin: ApiKey = Depends(require_admin),
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """Who published what and when, newest first (filter by collection, key, action)."""
        start = parse_instant(since, "parameter 'since'") if since else None
        entries = access.audit.list_entries(
            collection_id=collection,
            key_id=key_id,
            action=action,
            job_id=job,
            since=start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if start else None,
            limit=limit,
        )
        href = f"{base_url(request, ctx)}/admin/audit"
        return {"entries": entries, "links": [{"rel": "self", "href": href}]}

    return router


plugin = RouterPlugin(
    name="ops",
    prefix="",
    build=build,
    conformance=(),
    description="Operations: Prometheus metrics, audit log (admin key)",
    order=60,
)
