"""Publishing one collection version: the step ingest and derived results share.

The cube is written aside and checksummed; an object store receives it under its final key
(not yet referenced); one catalog transaction makes the version visible; a local cube is then
renamed into place (see :mod:`spaceclimate.store.cube` and :mod:`spaceclimate.store.objects`
for what a crash at each step leaves behind). Callers hold the hub's lock (:func:`hub_lock`)
around it, so that a concurrent clean-up never removes a cube being written.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xarray as xr

from spaceclimate.catalog.base import CatalogBackend, SourceRecord, VersionRecord
from spaceclimate.store import CubeStore
from spaceclimate.store.written import WrittenFiles

#: Fault injection for the atomicity tests: when ``SCO_CRASH_AT`` names a stage, the process
#: kills itself with SIGKILL there, as a power cut or ``kill -9`` would.
CRASH_ENV = "SCO_CRASH_AT"


def checkpoint(stage: str) -> None:
    """Die here, as ``kill -9`` would, when ``SCO_CRASH_AT`` names *stage* (tests only)."""
    if os.environ.get(CRASH_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def publish_version(
    store: CubeStore,
    catalog: CatalogBackend,
    *,
    collection_id: str,
    version: int,
    cube: xr.Dataset,
    build_collection: Callable[[str], dict[str, Any]],
    items: list[dict[str, Any]],
    fingerprint: str,
    recipe_digest: str,
    sources: Sequence[SourceRecord],
    staged: Path | None = None,
    written: WrittenFiles | None = None,
) -> str:
    """Write *cube* and publish it as *version* of *collection_id*; return the cube's href.

    *build_collection* receives the cube's href and returns the STAC Collection document.
    *staged* names a cube already written in the store's staging folder (ingest writes its
    cube while harmonising): it is published as it is, and *cube* only describes it;
    *written* then holds the chunk files its writer checksummed as it wrote them.
    """
    if staged is None:
        staged = store.new_staging_path()
        written = store.write(cube, staged)
    checkpoint("written")
    checksums = store.checksums(staged, written)
    href = store.prepare(staged, collection_id)  # object stores: uploaded, unreferenced
    checkpoint("uploaded")
    record = VersionRecord(
        collection_id=collection_id,
        version=version,
        cube_href=href,
        fingerprint=fingerprint,
        recipe_digest=recipe_digest,
        created=datetime.now(UTC),
        sources=tuple(sources),
        cube_checksums=checksums,
    )
    catalog.publish(build_collection(href), items, record)
    checkpoint("committed")
    store.promote(staged, collection_id)
    checkpoint("promoted")
    return href
