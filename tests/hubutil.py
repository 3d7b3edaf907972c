"""Helpers for tests that run the hub: the CLI in a subprocess and snapshots of a hub's state.

Both follow the test profile (``tests/profile.py``): the hub in *home* is whatever the
profile makes of it (SQLite and local disk by default; PostgreSQL and an object store at scale).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from .profile import SCALE, hub_env, hub_settings


def run_sco(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``sco ARGS`` against the hub in *home*; return the finished process."""
    full_env = {**os.environ, "SCO_HOME": str(home), **(env or {})}
    full_env.pop("SCO_CATALOG_URL", None)
    full_env.pop("SCO_STORE_PATH", None)
    full_env.update(hub_env(home))  # the scale profile's catalog, store and cluster
    return subprocess.run(
        [sys.executable, "-m", "spaceclimate", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def snapshot(home: Path) -> tuple[dict[str, str], list[tuple[object, ...]]]:
    """Return the hub's visible state: every published store file's hash and the catalog rows."""
    if SCALE:
        return _snapshot_at_scale(home)
    files: dict[str, str] = {}
    store = home / "store"
    if store.exists():
        for p in sorted(store.rglob("*")):
            rel = p.relative_to(store).as_posix()
            if p.is_file() and not rel.startswith(".staging"):
                files[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    rows: list[tuple[object, ...]] = []
    db = home / "catalog.db"
    if db.exists():
        con = sqlite3.connect(db)
        try:
            tables = [
                r[0]
                for r in con.execute(
                    "select name from sqlite_master where type='table' "
                    "and name not like 'sqlite_%' "
                    "and name not like '%rtree%' order by name"
                )
            ]
            for table in tables:
                rows.extend((table, *r) for r in con.execute(f'select * from "{table}" order by 1'))
        finally:
            con.close()
    return files, sorted(rows, key=repr)


def _snapshot_at_scale(home: Path) -> tuple[dict[str, str], list[tuple[object, ...]]]:
    """:func:`snapshot` of a hub on PostgreSQL and an object store (object ETags: content MD5)."""
    from sqlalchemy import create_engine, inspect, text

    from spaceclimate.store import ObjectPath, open_store

    settings = hub_settings(home)
    root = open_store(settings).path("")
    assert isinstance(root, ObjectPath)
    files = {
        key: str(meta.get("ETag") or meta.get("size"))
        for key, meta in (root.list_objects() if root.exists() else {}).items()
    }
    engine = create_engine(settings.resolved_catalog_url)
    rows: list[tuple[object, ...]] = []
    try:
        with engine.connect() as conn:
            for table in sorted(inspect(conn).get_table_names()):
                query = text(f'select * from "{table}" order by 1')
                rows.extend((table, *map(repr, r)) for r in conn.execute(query))
    finally:
        engine.dispose()
    return files, sorted(rows, key=repr)


def key_headers(home: Path, scopes: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """Make an API key per name with its scopes in the hub at *home*; answer their headers."""
    from spaceclimate.access import Access

    access = Access(hub_settings(home))
    try:
        made = {name: access.keys.create(s, name=name)[1] for name, s in scopes.items()}
    finally:
        access.close()
    return {name: {"Authorization": f"Bearer {token}"} for name, token in made.items()}
