"""Test profiles: the same suites on the embedded hub, or on the engines of a hub at scale.

``SCO_TEST_PROFILE`` chooses (``make test`` runs both):

* ``default`` — every hub is what ``SCO_HOME`` alone makes: SQLite catalog, cubes on local disk
  under ``SCO_HOME/store``, Dask threads in each process. Nothing here changes that.
* ``scale`` — every hub a test makes (the shared ``hub_home`` and each ``tmp_path`` hub) gets
  its own fresh PostgreSQL database (``SCO_CATALOG_URL``) and its own key prefix in a local
  S3-compatible server (``SCO_STORE_URL``, ``SCO_STORE_OPTIONS``), and all share one Dask
  cluster of a scheduler and two worker processes (``SCO_DASK_SCHEDULER``). The services start
  when the first hub is made and stop (databases dropped) when the session ends.

Tests describe a hub by its home folder, as before, and ask this module for the rest:
:func:`hub_settings` (in-process), :func:`hub_env` (for ``sco`` subprocesses), and helpers that
look into a hub's store whatever it is (:func:`cube_location`, :func:`store_objects`, ...).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spaceclimate.config import Settings
from spaceclimate.store import CubeLocation, ObjectPath, open_store

from . import services

PROFILE = os.environ.get("SCO_TEST_PROFILE", "default")
if PROFILE not in ("default", "scale"):
    raise ValueError(f"SCO_TEST_PROFILE={PROFILE!r}: expected default or scale")
SCALE = PROFILE == "scale"
BUCKET = "sco-scale"


@dataclass
class _ScaleServices:
    """The services of the scale profile, and the catalog and store of each hub."""

    stack: ExitStack
    s3: services.S3Server
    cluster: services.DaskCluster
    hubs: dict[str, dict[str, Any]] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)


_SERVICES: _ScaleServices | None = None


def _services() -> _ScaleServices:
    global _SERVICES
    if _SERVICES is None:
        stack = ExitStack()
        try:
            s3 = stack.enter_context(services.s3_server())
            s3.create_bucket(BUCKET)
            cluster = stack.enter_context(services.dask_cluster(2))
        except BaseException:
            stack.close()
            raise
        _SERVICES = _ScaleServices(stack, s3, cluster)
    return _SERVICES


def _key(home: Path) -> str:
    return str(Path(home).resolve())


def hub_overrides(home: Path) -> dict[str, Any]:
    """The settings fields of the hub at *home* in this profile (none in the default one)."""
    if not SCALE:
        return {}
    svc = _services()
    key = _key(home)
    if key not in svc.hubs:
        url = services.create_database()
        svc.databases.append(url)
        name = hashlib.sha1(key.encode()).hexdigest()[:12]
        svc.hubs[key] = {
            "catalog_url": url,
            "store_url": f"s3://{BUCKET}/{name}-{uuid.uuid4().hex[:6]}",
        }
    return {
        **svc.hubs[key],
        "store_options": svc.s3.options,
        "dask_scheduler": svc.cluster.address,
    }


def hub_settings(home: Path, **fields: Any) -> Settings:
    """The settings of the hub at *home* (``Settings(home=home)`` in the default profile)."""
    return Settings(home=home, **{**hub_overrides(home), **fields})


def hub_env(home: Path) -> dict[str, str]:
    """The ``SCO_*`` variables a subprocess needs for the hub at *home* (besides SCO_HOME)."""
    return {
        f"SCO_{name.upper()}": json.dumps(value) if isinstance(value, dict) else str(value)
        for name, value in hub_overrides(home).items()
    }


def copy_hub(source: Path, target: Path, *, own_store: bool = False) -> None:
    """Make *target* a private copy of the hub at *source* (its files and its catalog).

    At scale the copy's catalog is a copy of the database; it shares the store prefix (cubes
    are immutable, and new ones get new keys), or with *own_store* gets a prefix of its own
    holding a copy of every object (for tests that count or snapshot the store's objects).
    """
    shutil.copytree(source, target)
    if not SCALE:
        return
    svc = _services()
    original = hub_overrides(source)
    url = services.create_database()
    svc.databases.append(url)
    services.copy_database(original["catalog_url"], url)
    store_url = original["store_url"]
    if own_store:
        store_url = f"{store_url}-copy-{uuid.uuid4().hex[:6]}"
        fs = svc.s3.filesystem()
        old_root, new_root = (u.removeprefix("s3://") for u in (original["store_url"], store_url))
        keys = fs.find(old_root)
        if keys:  # one batch of server-side copies
            fs.copy(keys, [new_root + key[len(old_root) :] for key in keys])
    svc.hubs[_key(target)] = {"catalog_url": url, "store_url": store_url}


def cube_location(settings: Settings, collection_id: str) -> CubeLocation:
    """The latest cube of a collection: its folder, or its prefix in the object store."""
    from spaceclimate.catalog import open_catalog

    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        href = catalog.get_collection(collection_id)["assets"]["zarr"]["href"]
    finally:
        catalog.close()
    return open_store(settings).path(href)


def store_objects(location: CubeLocation) -> dict[str, bytes]:
    """Every file below a cube location, ``{relative path: content}``."""
    if isinstance(location, ObjectPath):
        return {rel: location.joinpath(rel).read_bytes() for rel in location.list_objects()}
    return {
        p.relative_to(location).as_posix(): p.read_bytes()
        for p in location.rglob("*")
        if p.is_file()
    }


def published_cubes(home: Path, collection_id: str) -> list[str]:
    """The names of the cubes of a collection present in the hub's store (referenced or not)."""
    store = open_store(hub_settings(home))
    folder = store.path(collection_id)
    if isinstance(folder, ObjectPath):
        listed = folder.fs.ls(folder.root, detail=False) if folder.exists() else []
        return sorted(str(k).rstrip("/").rsplit("/", 1)[-1] for k in listed)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def staged_leftovers(home: Path) -> list[str]:
    """What the hub's local staging folder holds."""
    staging = open_store(hub_settings(home)).staging
    return sorted(p.name for p in staging.iterdir()) if staging.is_dir() else []


def tamper_with_a_chunk(home: Path) -> str:
    """Append a byte to one chunk of the hub's first cube; return its relative path."""
    settings = hub_settings(home)
    store = open_store(settings)
    root = store.path("")
    if isinstance(root, ObjectPath):
        key = next(k for k in sorted(root.list_objects()) if "/c/" in k)
        obj = root.joinpath(key)
        obj.fs.pipe_file(obj.root, obj.read_bytes() + b"x")
        return key
    chunk = next(p for p in sorted(root.rglob("c/*")) if p.is_file())
    chunk.write_bytes(chunk.read_bytes() + b"x")
    return chunk.relative_to(root).as_posix()


def shutdown() -> None:
    """Stop the services of the scale profile and drop its databases (end of session)."""
    global _SERVICES
    if _SERVICES is None:
        return
    from spaceclimate.compute.cluster import close_clients

    svc, _SERVICES = _SERVICES, None
    close_clients()
    for url in svc.databases:
        try:
            services.drop_database(url)
        except Exception:  # noqa: BLE001 - keep dropping the others
            pass
    svc.stack.close()
