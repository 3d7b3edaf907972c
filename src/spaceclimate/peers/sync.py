"""Syncing a peer: its collections pooled into the local catalog, incrementally and atomically.

For a **hub** peer the sync reads its manifest (``/federation``: each collection's latest
version and fingerprint) and, for each collection whose origin version is not the one held:

- in **mirror** mode, downloads every file of the origin's cube version over its Zarr API
  (``/zarr/<id>/v<N>/<file>``) into the store's staging folder, checks each against the
  sha256 the origin recorded for that version (``/federation/collections/<id>/versions/<N>``),
  and publishes it as the next local version through the same atomic path ingest uses
  (:func:`spaceclimate.publish.publish_version`). A file that differs refuses the version
  (the error names it) and the previous local version stays. Files the previous local
  version holds with the same checksum are copied from it, not downloaded again;
- in **reference** mode, records the collection without copying its data: a catalog-only
  collection whose ``origin-zarr`` asset is the origin's cube over HTTP.

Catalog-only collections of a hub, and every collection of a **STAC API** or a **static
catalog**, are recorded as catalog-only collections (their items' assets point at the
origin). A collection the origin no longer publishes is marked withdrawn in a new local
version (``sco:origin.withdrawn``, ``deprecated``), never removed.

Each collection is synced under the hub's publishing lock, and its leftovers are cleaned up
first: a sync killed at any point leaves the catalog and store as they were (a staged cube
no version references is deleted by the next sync or ingest), and the next sync does it
again from the start.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from spaceclimate.catalog import CatalogBackend, open_catalog
from spaceclimate.catalog.base import SourceRecord, VersionRecord
from spaceclimate.catalog.records import has_cube
from spaceclimate.config import Settings
from spaceclimate.errors import ConflictError, InputError, IntegrityError, SCOError
from spaceclimate.peers.records import (
    collection_url,
    now_text,
    origin_of,
    pooled_collection,
    pooled_item,
)
from spaceclimate.peers.registry import Peer, local_id, split_id
from spaceclimate.peers.remote import HashingWriter, PeerClient
from spaceclimate.peers.walk import Harvested, walk_api, walk_static
from spaceclimate.publish import checkpoint, hub_lock, publish_version
from spaceclimate.store import CubeStore, open_store
from spaceclimate.store.cube import remove_entry

#: ``progress(message, done, total)``
Progress = Callable[[str, int, int], None]
#: Files of a cube downloaded at once.
PARALLEL_DOWNLOADS = 4
#: Seconds a sync waits for the hub's publishing lock (an ingest may hold it).
LOCK_WAIT = 600.0


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a sync did to one collection."""

    collection: str  # the local id
    status: str  # published, unchanged, withdrawn, refused or failed
    version: int | None = None  # the local version now latest
    origin_version: int | str | None = None
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The outcome as JSON."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class SyncReport:
    """What one sync of a peer did."""

    peer: str
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every collection was synced (none refused or failed)."""
        return all(o.status not in ("refused", "failed") for o in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "peer": self.peer,
            "ok": self.ok,
            "collections": [o.as_dict() for o in self.outcomes],
        }


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _safe_relpath(path: str) -> PurePosixPath:
    """A cube file path as the origin listed it, refused when it could leave the cube."""
    rel = PurePosixPath(path)
    if (
        not path
        or rel.is_absolute()
        or "\\" in path
        or "\x00" in path
        or any(p in ("", ".", "..") for p in path.split("/"))
    ):
        raise IntegrityError(f"the origin lists a cube file {path[:80]!r} outside its cube")
    return rel


class PeerSync:
    """Syncs one peer into the hub described by *settings* (see the module)."""

    def __init__(
        self,
        settings: Settings,
        peer: Peer,
        progress: Progress | None = None,
        *,
        catalog: CatalogBackend | None = None,
        store: CubeStore | None = None,
    ) -> None:
        self.settings = settings
        self.peer = peer
        self.progress: Progress = progress or (lambda _m, _d, _t: None)
        self._own = catalog is None
        self.catalog = catalog or open_catalog(settings.resolved_catalog_url)
        self.store = store or open_store(settings)
        self.client = PeerClient(
            peer.url, timeout=settings.fetch_timeout, idle_timeout=settings.fetch_idle_timeout
        )
        self.base = PeerClient(peer.shown_url).base  # the peer's base URL, no credentials

    def close(self) -> None:
        """Release the catalog (when this object opened it)."""
        if self._own:
            self.catalog.close()

    # -- the sync -----------------------------------------------------------------------------
    def run(self) -> SyncReport:
        """Sync every collection of the peer; return what happened to each."""
        report = SyncReport(self.peer.name)
        held = self._held()
        if self.peer.kind == "hub":
            seen = self._sync_hub(report, held)
        else:
            walk = walk_static if self.peer.kind == "static" else walk_api
            seen = self._sync_harvested(report, held, walk(self.client))
        for lid, doc in sorted(held.items()):
            if lid not in seen:
                report.outcomes.append(self._withdraw(lid, doc))
        return report

    def _held(self) -> dict[str, dict[str, Any]]:
        """The collections of the peer's namespace in the local catalog, by local id."""
        held = {}
        for doc in self.catalog.list_collections():
            parts = split_id(doc["id"])
            if parts is not None and parts[0] == self.peer.name:
                held[doc["id"]] = doc
        return held

    def _guarded(self, lid: str, origin_version: int | str, work: Callable[[], int]) -> Outcome:
        """Run *work* (which publishes and returns the local version) under the lock."""
        try:
            with hub_lock(self.settings.resolved_home, timeout=LOCK_WAIT):
                self.store.cleanup(self.catalog.referenced_cubes())
                version = work()
        except IntegrityError as exc:
            return Outcome(lid, "refused", self._latest(lid), origin_version, exc.message)
        except SCOError as exc:
            return Outcome(lid, "failed", self._latest(lid), origin_version, exc.message)
        return Outcome(lid, "published", version, origin_version)

    def _latest(self, lid: str) -> int | None:
        record = self.catalog.latest_version(lid)
        return record.version if record else None

    def _origin(self, origin_id: str, version: int | str, fingerprint: str) -> dict[str, Any]:
        return {
            "peer": self.peer.name,
            "url": self.peer.shown_url,
            "kind": self.peer.kind,
            "collection": origin_id,
            "version": version,
            "fingerprint": fingerprint,
            "mode": self.peer.mode,
            "synced": now_text(),
            "withdrawn": None,
        }

    def _current(self, doc: dict[str, Any] | None, version: int | str, fingerprint: str) -> bool:
        """Whether the local record is of this origin version, in the peer's mode."""
        origin = origin_of(doc) if doc else None
        return bool(
            origin
            and origin.get("version") == version
            and origin.get("fingerprint") == fingerprint
            and origin.get("mode") == self.peer.mode
            and not origin.get("withdrawn")
        )

    # -- hubs -----------------------------------------------------------------------------------
    def _sync_hub(self, report: SyncReport, held: dict[str, dict[str, Any]]) -> set[str]:
        manifest = self.client.get_json("federation")
        if not isinstance(manifest, dict) or not isinstance(manifest.get("collections"), list):
            raise InputError(f"peer {self.peer.name}: its /federation answer has no collections")
        entries = [
            e
            for e in manifest["collections"]
            if isinstance(e, dict) and isinstance(e.get("id"), str) and ":" not in e["id"]
        ]
        seen: set[str] = set()
        for done, entry in enumerate(entries):
            oid, version = entry["id"], int(entry["version"])
            lid = local_id(self.peer.name, oid)
            seen.add(lid)
            self.progress(f"{self.peer.name}: {oid} v{version}", done, len(entries))
            if self._current(held.get(lid), version, str(entry.get("fingerprint"))):
                report.outcomes.append(
                    Outcome(lid, "unchanged", self._latest(lid), version, "already held")
                )
                continue
            report.outcomes.append(
                self._guarded(lid, version, functools.partial(self._hub_version, oid, version))
            )
        self.progress(f"{self.peer.name}: done", len(entries), len(entries))
        return seen

    def _hub_items(self, oid: str, version: int) -> list[dict[str, Any]]:
        """Every item of the origin's latest version (which must be *version*)."""
        items: list[dict[str, Any]] = []
        path = f"stac/collections/{quote(oid, safe='')}/items"
        while True:
            page = self.client.get_json(f"{path}?limit=1000&token={len(items)}")
            features = page.get("features") if isinstance(page, dict) else None
            if not isinstance(features, list):
                raise InputError(f"peer {self.peer.name}: items of {oid!r} are not a list")
            items.extend(features)
            if not features or len(features) < 1000:
                break
        for item in items:
            if (item.get("properties") or {}).get("sco:version") != version:
                raise ConflictError(
                    f"peer {self.peer.name}: {oid} changed during the sync; the next sync "
                    "takes its new version"
                )
        return items

    def _hub_version(self, oid: str, version: int) -> int:
        """Pool version *version* of the hub peer's collection *oid*; return the local one."""
        lid = local_id(self.peer.name, oid)
        quoted = quote(oid, safe="")
        record = self.client.get_json(f"federation/collections/{quoted}/versions/{version}")
        doc = self.client.get_json(f"stac/collections/{quoted}")
        if not isinstance(doc, dict) or doc.get("sco:version") != version:
            raise ConflictError(
                f"peer {self.peer.name}: {oid} changed during the sync; the next sync takes "
                "its new version"
            )
        items = self._hub_items(oid, version)
        previous = self.catalog.latest_version(lid)
        local_version = previous.version + 1 if previous else 1
        checksums = {str(k): str(v) for k, v in (record.get("cube_checksums") or {}).items()}
        origin = self._origin(oid, version, str(record.get("fingerprint", "")))
        origin["files"] = len(checksums)
        origin["checksums_sha256"] = hashlib.sha256(
            "".join(f"{k} {checksums[k]}\n" for k in sorted(checksums)).encode()
        ).hexdigest()
        mirrored = self.peer.mode == "mirror" and has_cube(doc)
        if has_cube(doc) and not mirrored:
            zarr = dict(doc["assets"].pop("zarr"))
            zarr["href"] = f"{self.base}/zarr/{quoted}/v{version}"
            zarr["roles"] = ["data"]
            zarr["title"] = f"Zarr v3 cube at peer {self.peer.name} (origin version {version})"
            doc["assets"]["origin-zarr"] = zarr
        collection = pooled_collection(
            doc,
            local_id=lid,
            origin=origin,
            origin_href=collection_url(f"{self.base}/stac", oid),
            version=local_version,
        )
        stored = [
            pooled_item(
                item,
                local_id=lid,
                version=local_version,
                catalog_only=not mirrored,
                origin_href=f"{collection_url(f'{self.base}/stac', oid)}/items/"
                f"{quote(str(item.get('id')), safe='')}",
            )
            for item in items
        ]
        sources = tuple(
            SourceRecord(**{k: s[k] for k in ("name", "sha256", "size", "item_id")})
            for s in record.get("sources") or []
            if isinstance(s, dict)
        )
        if not mirrored:
            self.catalog.publish(
                collection,
                stored,
                VersionRecord(
                    collection_id=lid,
                    version=local_version,
                    cube_href="",
                    fingerprint=str(record.get("fingerprint", "")),
                    recipe_digest=str(record.get("recipe_digest", "")),
                    created=datetime.now(UTC),
                    sources=sources,
                ),
            )
            return local_version
        staged = self.store.new_staging_path()
        try:
            self._download_cube(oid, version, checksums, staged, previous)
            checkpoint("mirrored")

            def build(href: str) -> dict[str, Any]:
                collection["assets"]["zarr"]["href"] = href
                return collection

            publish_version(
                self.store,
                self.catalog,
                collection_id=lid,
                version=local_version,
                cube=CubeStore.open_path(staged),
                build_collection=build,
                items=stored,
                fingerprint=str(record.get("fingerprint", "")),
                recipe_digest=str(record.get("recipe_digest", "")),
                sources=sources,
                staged=staged,
            )
        except BaseException:
            if staged.exists():
                remove_entry(staged)
            raise
        return local_version

    def _download_cube(
        self,
        oid: str,
        version: int,
        checksums: dict[str, str],
        staged: Path,
        previous: VersionRecord | None,
    ) -> None:
        """Fetch (or copy from the previous local version) and check every file of a cube."""
        if not checksums:
            raise IntegrityError(f"peer {self.peer.name}: {oid} v{version} lists no cube files")
        held: dict[str, Path] = {}
        if previous is not None and previous.cube_href:
            folder = self.store.local_path(previous.cube_href)
            if folder.is_dir():
                held = {
                    path: folder / path
                    for path, sha in previous.cube_checksums.items()
                    if checksums.get(path) == sha
                }
        base = f"zarr/{quote(oid, safe='')}/v{version}"
        total = len(checksums)
        done = [0]

        def fetch(path: str) -> None:
            target = staged.joinpath(*_safe_relpath(path).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            kept = held.get(path)
            if kept is not None and kept.is_file() and not kept.is_symlink():
                shutil.copyfile(kept, target)
                digest = _sha256_file(target)
            else:
                with target.open("wb") as fh:
                    writer = HashingWriter(fh)
                    self.client.download(self.client.href(f"{base}/{path}"), writer)  # type: ignore[arg-type]
                digest = writer.hexdigest()
            if digest != checksums[path]:
                raise IntegrityError(
                    f"peer {self.peer.name}: {oid} v{version}: file {path} does not match the "
                    "checksum its origin recorded; version refused, the previous one is kept"
                )
            done[0] += 1
            if done[0] % 20 == 0 or done[0] == total:
                self.progress(f"{self.peer.name}: {oid} v{version} files", done[0], total)

        staged.mkdir(parents=True)
        with ThreadPoolExecutor(PARALLEL_DOWNLOADS) as pool:
            list(pool.map(fetch, sorted(checksums)))

    # -- STAC APIs and static catalogs -----------------------------------------------------------
    def _sync_harvested(
        self, report: SyncReport, held: dict[str, dict[str, Any]], found: Iterator[Harvested]
    ) -> set[str]:
        seen: set[str] = set()
        for done, harvested in enumerate(found):
            oid = harvested.origin_id
            lid = local_id(self.peer.name, oid)
            if lid in seen:
                continue
            seen.add(lid)
            fingerprint = harvested.fingerprint()
            origin_version: str = str(harvested.collection.get("version") or fingerprint[:12])
            self.progress(f"{self.peer.name}: {oid}", done, done + 1)
            if self._current(held.get(lid), origin_version, fingerprint):
                report.outcomes.append(
                    Outcome(lid, "unchanged", self._latest(lid), origin_version, "already held")
                )
                continue
            report.outcomes.append(
                self._guarded(
                    lid,
                    origin_version,
                    functools.partial(self._record, harvested, origin_version, fingerprint),
                )
            )
        return seen

    def _record(self, harvested: Harvested, origin_version: str, fingerprint: str) -> int:
        """Record a harvested collection as the next catalog-only local version."""
        oid = harvested.origin_id
        lid = local_id(self.peer.name, oid)
        previous = self.catalog.latest_version(lid)
        local_version = previous.version + 1 if previous else 1
        doc = dict(harvested.collection)
        assets = dict(doc.get("assets") or {})
        if "zarr" in assets:  # a cube held by the origin, not by this hub
            assets["origin-zarr"] = assets.pop("zarr")
        doc["assets"] = assets
        collection = pooled_collection(
            doc,
            local_id=lid,
            origin=self._origin(oid, origin_version, fingerprint),
            origin_href=harvested.url,
            version=local_version,
        )
        items = [
            pooled_item(
                item,
                local_id=lid,
                version=local_version,
                catalog_only=True,
                origin_href=next(
                    (
                        str(lk["href"])
                        for lk in item.get("links", [])
                        if isinstance(lk, dict) and lk.get("rel") == "self"
                    ),
                    harvested.url,
                ),
            )
            for item in harvested.items
            if isinstance(item.get("id"), str) and item.get("bbox")
        ]
        self.catalog.publish(
            collection,
            items,
            VersionRecord(
                collection_id=lid,
                version=local_version,
                cube_href="",
                fingerprint=fingerprint,
                recipe_digest="",
                created=datetime.now(UTC),
                sources=(),
            ),
        )
        return local_version

    # -- withdrawn at the origin ---------------------------------------------------------------
    def _withdraw(self, lid: str, doc: dict[str, Any]) -> Outcome:
        """Mark a collection the origin no longer publishes as withdrawn (a new version)."""
        origin = dict(origin_of(doc) or {})
        if origin.get("withdrawn"):
            return Outcome(lid, "unchanged", self._latest(lid), origin.get("version"), "withdrawn")

        def work() -> int:
            previous = self.catalog.latest_version(lid)
            assert previous is not None
            version = previous.version + 1
            origin["withdrawn"] = now_text()
            stored = dict(doc)
            stored["sco:origin"] = origin
            stored["sco:version"] = version
            stored["deprecated"] = True
            items = self.catalog.list_items(lid, limit=10_000_000, offset=0).features
            for item in items:
                item["properties"] = {**item.get("properties", {}), "sco:version": version}
            self.catalog.publish(
                stored,
                items,
                dataclasses.replace(previous, version=version, created=datetime.now(UTC)),
            )
            return version

        outcome = self._guarded(lid, str(origin.get("version")), work)
        if outcome.status == "published":
            return dataclasses.replace(
                outcome, status="withdrawn", message="no longer published by the origin"
            )
        return outcome
