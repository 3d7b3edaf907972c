"""Helpers for tests that run the hub: the CLI in a subprocess and snapshots of a hub's state."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def run_sco(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``sco ARGS`` against the hub in *home*; return the finished process."""
    full_env = {**os.environ, "SCO_HOME": str(home), **(env or {})}
    full_env.pop("SCO_CATALOG_URL", None)
    full_env.pop("SCO_STORE_PATH", None)
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
