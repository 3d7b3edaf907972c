"""One ingest, start to end: source files -> reader -> harmonise -> cube -> catalog.

An ingest holds the hub's lock, removes what an earlier crashed run left behind, groups the
files by recipe (one group per collection), and for each collection:

1. hashes the files; when the recipe and every file are already in the latest version, the
   collection is left as it is (re-ingesting is a no-op);
2. harmonises every new file (reading all values, so a corrupt or implausible file fails
   here, before anything is published) and streams them, in blocks of time steps, into a
   cube written aside in the store's staging folder; two threads harmonise the next files
   (packed NetCDF through :mod:`spaceclimate.harmonise.fast`) while each file is copied
   into the block being filled (:mod:`spaceclimate.store.blocks`) and the previous block
   is written in a background thread (:mod:`spaceclimate.store.writer`), so memory holds
   two blocks, reused throughout, whatever the number of files; on a collection's first
   ingest the harmonising workers also checksum the files (step 1 then has nothing to
   compare);
3. when the files were not in time order, or a previous version's steps are kept, merges the
   staged steps with the latest published cube into a second staged cube (later files win
   on equal time steps);
4. checksums the cube, publishes version N+1 in one catalog transaction (the single point of
   visibility), then moves the cube into place (see :mod:`spaceclimate.store.cube` for what a
   crash at each step leaves).

Every collection is harmonised and staged before the first one is published, so bad input
anywhere in the command leaves the hub exactly as it was (staged cubes are removed).

With ``SCO_DASK_SCHEDULER`` the files are harmonised by the workers of that Dask cluster
(one task a file, a few files ahead of the writer), which must read them at the same paths;
the cube is still written here, block by block, from the harmonised files they send back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from spaceclimate.catalog import open_catalog
from spaceclimate.catalog.base import CatalogBackend, SourceRecord, VersionRecord
from spaceclimate.catalog.stac import build_collection, build_item
from spaceclimate.compute.cluster import dask_client
from spaceclimate.config import Settings
from spaceclimate.ecv import get_recipe, match_recipes, recipe_digest
from spaceclimate.ecv.models import Recipe
from spaceclimate.errors import InputError
from spaceclimate.harmonise import combine, finalize, harmonise_file
from spaceclimate.harmonise.binning import STEP_GRANULES_ATTR
from spaceclimate.harmonise.core import check_same_grid
from spaceclimate.harmonise.metadata import recorded_source_attrs
from spaceclimate.harmonise.sourceattrs import SOURCE_ATTRS_KEY, agree
from spaceclimate.harmonise.timeaxis import check_disjoint
from spaceclimate.publish import checkpoint, hub_lock, publish_version
from spaceclimate.store import CubeStore, open_store
from spaceclimate.store.blocks import BlockAssembler
from spaceclimate.store.writer import BackgroundWriter, CubeWriter
from spaceclimate.store.written import WrittenFiles

if TYPE_CHECKING:
    from distributed import Client

Progress = Callable[[str, int, int], None]

IGNORED_SUFFIXES = {".md", ".json", ".yaml", ".yml"}
#: Threads harmonising files while the writer encodes the previous block. (Processes were
#: measured slower: their start-up and the transfer of every harmonised map cost more than
#: the Python work they would run in parallel.)
HARMONISE_WORKERS = 2


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
    version: int = 1
    items: list[dict[str, Any]] = field(default_factory=list)
    staged: Path | None = None  # the cube written aside, ready to publish
    written: WrittenFiles | None = None  # its chunk files, checksummed as written
    previous_items: list[dict[str, Any]] | None = None  # the previous version's, read once
    cube: xr.Dataset | None = None  # the staged cube (lazy) with its final attributes
    source_attrs: dict[str, str] | None = None  # what every new file carries alike


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
        self.store: CubeStore = open_store(settings)
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
            counter = [0, total]
            try:
                for plan in plans:  # harmonise and stage everything before publishing anything
                    if plan.new or plan.previous is None:
                        self._stage(plan, counter)
                self.progress("harmonised", total, total)
                checkpoint("harmonised")
            except BaseException:
                for plan in plans:
                    if plan.staged is not None:
                        shutil.rmtree(plan.staged, ignore_errors=True)
                raise
            return [self._publish(plan) for plan in plans]

    def _plan(self, files: list[Path], recipe_id: str | None) -> list[_Plan]:
        groups: dict[str, list[Path]] = {}
        recipes: dict[str, Recipe] = {}
        for path in files:
            for recipe in [get_recipe(recipe_id)] if recipe_id else match_recipes(path):
                recipes[recipe.id] = recipe
                groups.setdefault(recipe.id, []).append(path)
        plans = []
        for cid, group in groups.items():
            recipe = recipes[cid]
            digest = recipe_digest(recipe)
            previous = self.catalog.latest_version(cid)
            known = {s.sha256 for s in previous.sources} if previous else set()
            sources: list[tuple[Path, SourceRecord]] = []
            if previous is None and not self.settings.dask_scheduler:
                # every file is new: each is hashed by the worker that harmonises it (the
                # file is then read while in the page cache, alongside the cube's writing)
                sources = [(p, SourceRecord(p.name, "", 0, item_id_of(p))) for p in group]
            else:
                with ThreadPoolExecutor(HARMONISE_WORKERS) as hashing:  # hashlib frees the GIL
                    for i, (path, (digest_file, size)) in enumerate(
                        zip(group, hashing.map(sha256_of, group), strict=True)
                    ):
                        self.progress(f"checksum {path.name}", i, len(group))
                        record = SourceRecord(path.name, digest_file, size, item_id_of(path))
                        sources.append((path, record))
            same_recipe = previous is not None and previous.recipe_digest == digest
            new = [(p, s) for p, s in sources if not (same_recipe and s.sha256 in known)]
            plans.append(_Plan(recipe, digest, previous, sources, new))
        return plans

    def _stage(self, plan: _Plan, counter: list[int]) -> None:
        """Harmonise the plan's new files and write the new version's cube aside."""
        previous = plan.previous
        plan.version = (previous.version + 1) if previous else 1
        replaced = {s.item_id for _p, s in plan.new}
        kept = [s for s in previous.sources if s.item_id not in replaced] if previous else []
        binned = plan.recipe.binning is not None
        if binned and previous is not None and kept:
            again = sorted(replaced & {s.item_id for s in previous.sources})
            if again:  # its pixels are in the binned steps and cannot be taken out again
                raise InputError(
                    f"{again[0]}: this granule changed since it was binned into "
                    f"{plan.recipe.id} v{previous.version}; re-ingest the whole collection "
                    "into a fresh hub to bin it again"
                )
        first, in_order, static = self._stream(plan, counter)
        datasets: list[xr.Dataset] = []
        if previous is not None and kept:
            datasets.append(self.store.open(previous.cube_href))
        if static is not None:  # no time axis: the last file is the cube, written at once
            datasets.append(static)
        elif plan.staged is not None:
            datasets.append(self.store.open_path(plan.staged))
        if first is None and not datasets:
            raise InputError(f"{plan.recipe.id}: no data in the given files")
        sources = kept + [s for _p, s in plan.new]
        carried = plan.source_attrs or {}
        if previous is not None and kept:  # and what the kept files carried alike
            carried = agree(carried, recorded_source_attrs(datasets[0].attrs))
        extra = self._step_granules(plan) if binned else {}
        if static is None and in_order and len(datasets) == 1:
            merged = datasets[0]  # the staged cube is already the new version's cube
            cube = finalize(merged, plan.recipe, sources, plan.digest, plan.version, carried)
            cube.attrs.update(extra)
            assert plan.staged is not None
            self.store.set_attrs(plan.staged, cube.attrs)
        else:  # merge with the kept steps (or put the steps in time order) into a new cube
            merged = combine(datasets, binned=binned)
            cube = finalize(merged, plan.recipe, sources, plan.digest, plan.version, carried)
            cube.attrs.update(extra)
            target = self.store.new_staging_path()
            try:
                plan.written = self.store.write(cube, target)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
            if plan.staged is not None:
                shutil.rmtree(plan.staged, ignore_errors=True)
            plan.staged = target
            cube = self.store.open_path(target)  # no longer reading the removed first pass
        plan.cube = cube

    def _previous_items(self, plan: _Plan) -> list[dict[str, Any]]:
        """The items of the collection's latest version (read from the catalog once)."""
        if plan.previous_items is None:
            found = self.catalog.list_items(plan.recipe.id, limit=1_000_000, offset=0)
            plan.previous_items = list(found.features)
        return plan.previous_items

    def _step_granules(self, plan: _Plan) -> dict[str, str]:
        """The cube attribute naming, for each binned step, the granules that fed it."""
        items = list(plan.items)
        if plan.previous is not None:
            replaced = {it["id"] for it in items}
            items.extend(it for it in self._previous_items(plan) if it["id"] not in replaced)
        steps: dict[str, list[str]] = {}
        for item in items:
            for step in item["properties"].get("sco:steps") or []:
                steps.setdefault(str(step), []).append(str(item["id"]))
        ordered = {k: sorted(v) for k, v in sorted(steps.items())}
        return {STEP_GRANULES_ATTR: json.dumps(ordered)}

    def _stream(
        self, plan: _Plan, counter: list[int]
    ) -> tuple[xr.Dataset | None, bool, xr.Dataset | None]:
        """Harmonise the new files in order, writing their time steps aside block by block.

        Returns the first harmonised file, whether the steps came in strictly increasing time
        order, and (for products without a time axis) the last file's dataset. Sets
        ``plan.staged`` to the cube written and fills ``plan.items``.
        """
        first: xr.Dataset | None = None
        static: xr.Dataset | None = None
        writer: CubeWriter | None = None
        background: BackgroundWriter | None = None
        blocks: BlockAssembler | None = None
        last_time: np.datetime64 | None = None
        last_end: np.ndarray | None = None  # the cell of the last step written
        in_order = True
        try:
            for i, (ds, src) in enumerate(self._harmonised(plan)):
                path = plan.new[i][0]
                counter[0] += 1
                self.progress(f"harmonise {path.name}", counter[0], counter[1])
                if first is None:
                    first = ds
                else:
                    check_same_grid(first, ds)
                carried = dict(ds.attrs.get(SOURCE_ATTRS_KEY) or {})
                if plan.source_attrs is not None:  # what every new file carries alike
                    carried = agree(plan.source_attrs, carried)
                plan.source_attrs = carried
                skeleton = ds.drop_vars(list(ds.data_vars))
                plan.items.append(
                    build_item(skeleton, plan.recipe, src, str(path.resolve()), plan.version)
                )
                if "time" not in ds.dims or not any(
                    "time" in v.dims for v in ds.data_vars.values()
                ):
                    static = ds
                    continue
                times = ds["time"].values
                if last_time is not None and times.size and times[0] <= last_time:
                    in_order = False
                elif last_end is not None and times.size and "time_bnds" in ds.variables:
                    # in time order: the file's first step may not reach into the last one
                    check_disjoint(np.stack([last_end, ds["time_bnds"].values[0]]), path.name)
                if times.size:
                    last_time = times[-1]
                    if "time_bnds" in ds.variables:
                        last_end = ds["time_bnds"].values[-1]
                if writer is None:
                    plan.staged = self.store.new_staging_path()
                    writer = CubeWriter(plan.staged, ds)
                    background = BackgroundWriter(writer)
                    blocks = BlockAssembler(background, ds)
                assert blocks is not None
                blocks.add(ds)
            if blocks is not None and background is not None:
                blocks.close()
                background.close()
        except BaseException:
            if background is not None:  # no write may outlive the ingest (the cube is removed)
                with contextlib.suppress(BaseException):
                    background.close()
            raise
        if writer is not None:
            writer.finish(None)
            plan.written = writer.written
        return first, in_order, static

    def _harmonised(self, plan: _Plan) -> Iterator[tuple[xr.Dataset, SourceRecord]]:
        """Yield the harmonised new files in order, harmonising a few ahead in workers.

        Each comes with its source record, checksummed by the worker when :meth:`_plan` left
        that to it; ``plan.new`` and ``plan.sources`` are updated with those records.
        """
        limit = self.settings.max_variable_bytes
        client = dask_client(self.settings.dask_scheduler)
        if client is not None:
            paths = [p for p, _s in plan.new]
            for ds, (_p, src) in zip(
                _harmonised_on_cluster(client, paths, plan.recipe, limit), plan.new, strict=True
            ):
                yield ds, src
            return
        ahead = 4 * HARMONISE_WORKERS
        records = {id(src): i for i, (_p, src) in enumerate(plan.sources)}
        with ThreadPoolExecutor(HARMONISE_WORKERS, thread_name_prefix="harmonise") as pool:
            queue: deque[Future[tuple[xr.Dataset, SourceRecord]]] = deque()
            todo = iter(plan.new)
            try:
                for path, src in todo:
                    queue.append(
                        pool.submit(_checksum_and_harmonise, path, src, plan.recipe, limit)
                    )
                    if len(queue) >= ahead:
                        break
                done = 0
                while queue:
                    ds, record = queue.popleft().result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        queue.append(pool.submit(_checksum_and_harmonise, *nxt, plan.recipe, limit))
                    path, src = plan.new[done]
                    if record is not src:
                        plan.new[done] = (path, record)
                        if id(src) in records:
                            plan.sources[records[id(src)]] = (path, record)
                    done += 1
                    yield ds, record
            finally:
                for future in queue:
                    future.cancel()

    def _publish(self, plan: _Plan) -> IngestResult:
        cid = plan.recipe.id
        previous = plan.previous
        if not plan.new and previous is not None:
            return IngestResult(cid, "unchanged", previous.version, [], previous.cube_href)
        assert plan.staged is not None and plan.cube is not None
        version = plan.version
        new_sources = [s for _p, s in plan.new]
        replaced = {s.item_id for s in new_sources}
        kept_sources = (
            [s for s in previous.sources if s.item_id not in replaced] if previous else []
        )
        cube = plan.cube
        items = []
        if previous is not None:
            old_items = {it["id"]: it for it in self._previous_items(plan)}
            for src in kept_sources:
                if src.item_id in old_items:
                    item = dict(old_items[src.item_id])
                    item["properties"] = {**item["properties"], "sco:version": version}
                    items.append(item)
        items.extend(plan.items)
        all_sources = kept_sources + new_sources

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
            staged=plan.staged,
            written=plan.written,
        )
        self.progress(f"published {cid} v{version}", 1, 1)
        return IngestResult(cid, "published", version, [s.name for s in new_sources], href)


def _checksum_and_harmonise(
    path: Path, src: SourceRecord, recipe: Recipe, limit: int
) -> tuple[xr.Dataset, SourceRecord]:
    """Harmonise *path* (variables up to *limit* bytes decoded); checksum it first when its
    record has no checksum yet."""
    if not src.sha256:
        digest, size = sha256_of(path)
        src = SourceRecord(src.name, digest, size, src.item_id)
    return harmonise_file(path, recipe, limit), src


def _harmonised_on_cluster(
    client: Client, paths: list[Path], recipe: Recipe, limit: int
) -> Iterator[xr.Dataset]:
    """Yield the harmonised *paths* in order, each harmonised by a task on the cluster.

    Two files a worker thread are in flight ahead of the writer; a file's harmonised dataset
    leaves the cluster as soon as it is handed over, and what is still queued is cancelled
    when the ingest stops (bad input anywhere, or an interruption).
    """
    ahead = max(2, 2 * sum(client.nthreads().values()))
    run = uuid.uuid4().hex[:12]
    todo = iter(enumerate(paths))
    queue: deque[Any] = deque()

    def submit() -> None:
        nxt = next(todo, None)
        if nxt is not None:
            i, path = nxt
            key = f"sco-harmonise-{run}-{i}-{path.name}"
            queue.append(client.submit(harmonise_file, path.resolve(), recipe, limit, key=key))

    try:
        for _ in range(ahead):
            submit()
        while queue:
            ds = queue.popleft().result()
            submit()
            yield ds
    finally:
        if queue:
            client.cancel(list(queue))


def _fingerprint(digest: str, sources: list[SourceRecord]) -> str:
    h = hashlib.sha256(digest.encode())
    for sha in sorted(s.sha256 for s in sources):
        h.update(sha.encode())
    return h.hexdigest()
