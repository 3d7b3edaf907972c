"""Federation over HTTP: what this hub publishes to its peers, and its peers (admin key).

Read by peers (anonymous, like every read):

- ``GET /federation``: the manifest, each collection this hub publishes of its own (ids
  without ``:``; pooled collections are harvested from their origin) with its latest version
  and fingerprint, so that a peer syncs only what changed;
- ``GET /federation/collections/{cid}/versions/{n}``: a version's record: the sha256 of every
  file of its cube (what a mirror checks each downloaded file against), its sources and
  fingerprint.

Managed with an admin key: ``GET/POST /federation/peers``, ``DELETE /federation/peers/{name}``
and ``POST /federation/peers/{name}/sync`` (runs the sync and answers its report).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from spaceclimate import __version__
from spaceclimate.access import ApiKey, AuditEntry, access_for
from spaceclimate.api.security import WRITE_RESPONSES, actor_of, admin_dependency
from spaceclimate.api.urls import base_url
from spaceclimate.catalog.records import has_cube
from spaceclimate.errors import NotFoundError
from spaceclimate.peers import MODES, PeerRegistry, add_peer, sync_peer
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import Context
from spaceclimate.services.routers import RouterPlugin

#: ``type`` of the manifest, by which a peer knows it talks to a hub.
MANIFEST_TYPE = "spaceclimate-federation"

ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: WRITE_RESPONSES[401],
    403: {**WRITE_RESPONSES[403], "description": "Not an admin key"},
}


class PeerBody(BaseModel):
    """A peer to add."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(..., max_length=2000, description="The peer's http(s) URL")
    name: str | None = Field(None, max_length=40, description="Its namespace here")
    mode: str = Field("mirror", pattern=f"^({'|'.join(MODES)})$")
    kind: str | None = Field(None, pattern="^(hub|stac-api|static)$")


def build(ctx: HubContext) -> APIRouter:
    """Return the federation router."""
    router = APIRouter()
    access = access_for(ctx)
    registry = PeerRegistry(access.engine)
    require_admin = admin_dependency(ctx)

    @router.get("/", summary="Federation manifest", operation_id="federationManifest")
    def manifest(request: Request, *, ctx: Context) -> dict[str, Any]:
        """This hub's own collections, each with its latest version and fingerprint."""
        base = base_url(request, ctx)
        entries = []
        for doc in ctx.catalog.list_collections():
            if ":" in doc["id"]:
                continue
            record = ctx.catalog.latest_version(doc["id"])
            if record is None:
                continue
            entries.append(
                {
                    "id": doc["id"],
                    "version": record.version,
                    "fingerprint": record.fingerprint,
                    "created": record.created.isoformat(),
                    "cube": has_cube(doc),
                }
            )
        return {
            "type": MANIFEST_TYPE,
            "hub": "spaceclimate",
            "hub_version": __version__,
            "collections": entries,
            "links": [
                {"rel": "self", "href": f"{base}/federation", "type": "application/json"},
                {"rel": "data", "href": f"{base}/stac", "type": "application/json"},
            ],
        }

    router.add_api_route(
        "",
        manifest,
        methods=["GET"],
        summary="Federation manifest",
        operation_id="federationManifestBare",
        include_in_schema=False,
    )

    @router.get(
        "/collections/{cid}/versions/{version}",
        summary="A collection version's record: cube checksums and sources",
        operation_id="federationVersion",
    )
    def version_record(cid: str, version: int, *, ctx: Context) -> dict[str, Any]:
        """The sha256 of every cube file of a version, its sources and fingerprint."""
        ctx.collection(cid)  # 404 naming the known collections
        record = next((r for r in ctx.catalog.versions(cid) if r.version == version), None)
        if record is None:
            raise NotFoundError(f"collection {cid!r} has no version {version}")
        return {
            "id": cid,
            "version": record.version,
            "fingerprint": record.fingerprint,
            "recipe_digest": record.recipe_digest,
            "created": record.created.isoformat(),
            "cube": bool(record.cube_href),
            "cube_checksums": record.cube_checksums,
            "sources": [s.__dict__ for s in record.sources],
        }

    @router.get(
        "/peers",
        summary="Peers (admin key)",
        operation_id="federationPeers",
        responses=ADMIN_RESPONSES,
    )
    def peers(admin: ApiKey = Depends(require_admin)) -> dict[str, Any]:
        """Every peer, its kind, mode and last sync (URLs without credentials)."""
        return {"peers": [p.as_dict() for p in registry.list_peers()]}

    @router.post(
        "/peers",
        status_code=201,
        summary="Add a peer (admin key)",
        operation_id="federationAddPeer",
        responses=ADMIN_RESPONSES,
    )
    def add(
        request: Request, body: PeerBody, admin: ApiKey = Depends(require_admin)
    ) -> dict[str, Any]:
        """Add a peer; its kind (hub, STAC API, static catalog) is asked of it if not given."""
        peer = add_peer(registry, body.url, name=body.name, mode=body.mode, kind=body.kind)
        access.audit.record(AuditEntry("peer.add", actor_of(request, admin), detail=peer.as_dict()))
        return peer.as_dict()

    @router.delete(
        "/peers/{name}",
        summary="Remove a peer (admin key)",
        operation_id="federationRemovePeer",
        responses=ADMIN_RESPONSES,
    )
    def remove(
        request: Request, name: str, admin: ApiKey = Depends(require_admin)
    ) -> dict[str, Any]:
        """Forget a peer; the collections pooled from it stay, with their origin."""
        peer = registry.remove(name)
        access.audit.record(
            AuditEntry("peer.remove", actor_of(request, admin), detail=peer.as_dict())
        )
        return peer.as_dict()

    @router.post(
        "/peers/{name}/sync",
        summary="Sync a peer now (admin key)",
        operation_id="federationSyncPeer",
        responses=ADMIN_RESPONSES,
    )
    def sync(
        request: Request,
        name: str,
        admin: ApiKey = Depends(require_admin),
        *,
        ctx: Context,
    ) -> dict[str, Any]:
        """Sync a peer: new origin versions become new local versions (see the report)."""
        report = sync_peer(ctx.settings, registry, name, catalog=ctx.catalog, store=ctx.store)
        access.audit.record(
            AuditEntry("peer.sync", actor_of(request, admin), detail=report.as_dict())
        )
        return report.as_dict()

    return router


plugin = RouterPlugin(
    name="federation",
    prefix="/federation",
    build=build,
    conformance=(),
    description="Federation: this hub's manifest for its peers, and its peers (admin key)",
    order=85,
)
