"""Federation: the peers whose collections this hub pools, and how they are synced.

A peer is another spaceclimate hub, a STAC API, or a static STAC catalog over HTTP
(:mod:`.registry`). A sync (:mod:`.sync`) pools its collections under the peer's name
(``<peer>:<collection>``), mirrored (data copied and checked) or referenced (records only);
:mod:`.search` fans a search out to live peers under a deadline. :mod:`.remote` reaches a
peer through the hub's guarded client, :mod:`.walk` reads STAC APIs and static catalogs,
:mod:`.records` makes a peer's documents local ones.
"""

from __future__ import annotations

from spaceclimate.catalog import CatalogBackend
from spaceclimate.config import Settings
from spaceclimate.db import migrate
from spaceclimate.db.engine import create_db_engine
from spaceclimate.peers.registry import (
    KINDS,
    MODES,
    Peer,
    PeerRegistry,
    check_url,
    default_name,
    local_id,
    split_id,
)
from spaceclimate.peers.remote import PeerClient, detect_kind
from spaceclimate.peers.sync import Outcome, PeerSync, Progress, SyncReport
from spaceclimate.store import CubeStore

__all__ = [
    "KINDS",
    "MODES",
    "Outcome",
    "Peer",
    "PeerRegistry",
    "PeerSync",
    "Progress",
    "SyncReport",
    "add_peer",
    "local_id",
    "open_registry",
    "split_id",
    "sync_peer",
]


def open_registry(settings: Settings) -> PeerRegistry:
    """Return the peers of the hub *settings* describe (its database migrated)."""
    engine = create_db_engine(settings.resolved_catalog_url)
    migrate.upgrade(engine)
    return PeerRegistry(engine)


def add_peer(
    registry: PeerRegistry,
    url: str,
    *,
    name: str | None = None,
    mode: str = "mirror",
    kind: str | None = None,
) -> Peer:
    """Add a peer; its kind is asked of it when not given (FetchError when it does not answer)."""
    url = check_url(url)
    if kind is None:
        kind = detect_kind(PeerClient(url, timeout=30.0, idle_timeout=10.0))
    return registry.add(name or default_name(url), url, kind, mode)


def sync_peer(
    settings: Settings,
    registry: PeerRegistry,
    name: str,
    progress: Progress | None = None,
    *,
    catalog: CatalogBackend | None = None,
    store: CubeStore | None = None,
) -> SyncReport:
    """Sync one peer and record what the sync did; return the report."""
    peer = registry.get(name)
    sync = PeerSync(settings, peer, progress, catalog=catalog, store=store)
    try:
        report = sync.run()
    finally:
        sync.close()
    registry.record_sync(name, report.as_dict())
    return report
