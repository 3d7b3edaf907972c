"""One ingest, start to end: source files -> reader -> harmonise -> cube -> catalog.

An ingest holds the hub's lock, removes what an earlier crashed run left behind, groups the
files by recipe (one group per collection), and for each collection:

1. hashes the files; when the recipe and every file are already in the latest version, the
   collection is left as it is (re-ingesting is a no-op);
2. harmonises every new file (reading all values, so a corrupt or implausible file fails here,
   before anything is written) and merges them with the latest published cube;
3. writes the new cube aside and checksums it, publishes version N+1 in one catalog
   transaction (the single point of visibility), then moves the cube into place (see
   :mod:`spaceclimate.store.cube` for what a crash at each step leaves).

All collections are harmonised before the first one is written, so bad input anywhere in the
command leaves the hub exactly as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xarray as xr

from spaceclimate.catalog import open_catalog
from spaceclimate.catalog.base import CatalogBackend, SourceRecord, VersionRecord
from spaceclimate.catalog.stac import build_collection, build_item
from spaceclimate.config import Settings
from spaceclimate.ecv import get_recipe, match_recipe, recipe_digest
from spaceclimate.ecv.models import Recipe
from spaceclimate.errors import InputError
from spaceclimate.harmonise import combine, finalize, harmonise_file
from spaceclimate.publish import checkpoint, hub_lock, publish_version
from spaceclimate.store import CubeStore

Progress = Callable[[str, int, int], None]

IGNORED_SUFFIXES = {".md", ".json", ".yaml", ".yml"}


@dataclass
class IngestResult:
    """What an ingest did to one collection."""

    collection_id: str
    status: str  # "published" or "unchanged"
    version: int
    files: list[str] = field(default_factory=list)
    cube_href: str = ""


@dataclass
class _Plan:
    recipe: Recipe
    digest: str
    previous: VersionRecord | None
    sources: list[tuple[Path, SourceRecord]]
    new: list[tuple[Path, SourceRecord]]
    harmonised: list[xr.Dataset] = field(default_factory=list)


def _is_zarr_dir(path: Path) -> bool:
    return path.is_dir() and any(
        (path / marker).exists() for marker in (".zgroup", "zarr.json", ".zmetadata")
    )


def expand_paths(paths: list[Path]) -> list[Path]:
    """Return the source files named by *paths* (folders are walked; Zarr stores kept whole)."""
    out: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_file() or _is_zarr_dir(path):
            out.append(path)
            continue
        for child in sorted(path.iterdir()):
            if child.name.startswith(".") or child.suffix.lower() in IGNORED_SUFFIXES:
                continue
            out.extend(expand_paths([child]))
    return out


def sha256_of(path: Path) -> tuple[str, int]:
    """Return the sha256 and size of a file, or of a directory store's sorted files."""
    h = hashlib.sha256()
    if path.is_dir():
        size = 0
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest, n = sha256_of(file)
            h.update(f"{file.relative_to(path).as_posix()}\0{digest}\n".encode())
            size += n
        return h.hexdigest(), size
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest(), path.stat().st_size


def item_id_of(path: Path) -> str:
    """Return the STAC item id of a source file: its name without suffix."""
    name = path.name
    return name[: -len(".zarr")] if name.endswith(".zarr") else path.stem


class Ingestor:
    """Runs ingests against the hub described by *settings*."""

    def __init__(self, settings: Settings, progress: Progress | None = None) -> None:
        self.settings = settings
        self.progress = progress or (lambda _msg, _done, _total: None)
        self.store = CubeStore(settings.resolved_store_path)
        self.catalog: CatalogBackend = open_catalog(settings.resolved_catalog_url)

    def close(self) -> None:
        """Release the catalog connection."""
        self.catalog.close()

    def cleanup(self) -> list[str]:
        """Remove leftovers of crashed runs (staged and unreferenced cubes)."""
        return self.store.cleanup(self.catalog.referenced_cubes())

    def ingest(self, paths: list[Path], recipe_id: str | None = None) -> list[IngestResult]:
        """Ingest *paths*; return one result per collection touched."""
        files = expand_paths(paths)
        if not files:
            raise InputError("no source files given")
        with hub_lock(self.settings.resolved_home):
            self.cleanup()
            plans = self._plan(files, recipe_id)
            total = sum(len(p.new) for p in plans)
            done = 0
            for plan in plans:  # harmonise everything before writing anything
                for path, _src in plan.new:
                    self.progress(f"harmonise {path.name}", done, total)
                    plan.harmonised.append(harmonise_file(path, plan.recipe))
                    done += 1
            self.progress("harmonised", total, total)
            checkpoint("harmonised")
            return [self._publish(plan) for plan in plans]

    def _plan(self, files: list[Path], recipe_id: str | None) -> list[_Plan]:
        groups: dict[str, list[Path]] = {}
        recipes: dict[str, Recipe] = {}
        for path in files:
            recipe = get_recipe(recipe_id) if recipe_id else match_recipe(path)
            recipes[recipe.id] = recipe
            groups.setdefault(recipe.id, []).append(path)
        plans = []
        for cid, group in groups.items():
            recipe = recipes[cid]
            digest = recipe_digest(recipe)
            previous = self.catalog.latest_version(cid)
            known = {s.sha256 for s in previous.sources} if previous else set()
            sources: list[tuple[Path, SourceRecord]] = []
            for i, path in enumerate(group):
                self.progress(f"checksum {path.name}", i, len(group))
                digest_file, size = sha256_of(path)
                sources.append((path, SourceRecord(path.name, digest_file, size, item_id_of(path))))
            same_recipe = previous is not None and previous.recipe_digest == digest
            new = [(p, s) for p, s in sources if not (same_recipe and s.sha256 in known)]
            plans.append(_Plan(recipe, digest, previous, sources, new))
        return plans

    def _publish(self, plan: _Plan) -> IngestResult:
        cid = plan.recipe.id
        previous = plan.previous
        if not plan.new and previous is not None:
            return IngestResult(cid, "unchanged", previous.version, [], previous.cube_href)
        version = (previous.version + 1) if previous else 1
        new_sources = [s for _p, s in plan.new]
        replaced = {s.item_id for s in new_sources}
        kept_sources = (
            [s for s in previous.sources if s.item_id not in replaced] if previous else []
        )
        datasets: list[xr.Dataset] = []
        if previous is not None and kept_sources:
            datasets.append(self.store.open(previous.cube_href))
        datasets.extend(plan.harmonised)
        merged = combine(datasets)
        all_sources = kept_sources + new_sources
        cube = finalize(merged, plan.recipe, all_sources, plan.digest, version)

        items = []
        if previous is not None:
            old_items = {
                it["id"]: it
                for it in self.catalog.list_items(cid, limit=1_000_000, offset=0).features
            }
            for src in kept_sources:
                if src.item_id in old_items:
                    item = dict(old_items[src.item_id])
                    item["properties"] = {**item["properties"], "sco:version": version}
                    items.append(item)
        for (path, src), ds in zip(plan.new, plan.harmonised, strict=True):
            items.append(build_item(ds, plan.recipe, src, str(path.resolve()), version))

        self.progress(f"write {cid} v{version}", 0, 1)
        href = publish_version(
            self.store,
            self.catalog,
            collection_id=cid,
            version=version,
            cube=cube,
            build_collection=lambda href: build_collection(cube, plan.recipe, version, href),
            items=items,
            fingerprint=_fingerprint(plan.digest, all_sources),
            recipe_digest=plan.digest,
            sources=all_sources,
        )
        self.progress(f"published {cid} v{version}", 1, 1)
        return IngestResult(cid, "published", version, [s.name for s in new_sources], href)


def _fingerprint(digest: str, sources: list[SourceRecord]) -> str:
    h = hashlib.sha256(digest.encode())
    for sha in sorted(s.sha256 for s in sources):
        h.update(sha.encode())
    return h.hexdigest()
