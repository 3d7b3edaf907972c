"""Helpers of the publishing and operations tests: a small hub, keys, snapshots, job polling."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from spaceclimate.access import Access
from spaceclimate.config import Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
#: Small real samples of three agencies' products (ESA ozone, ESA sea state, NOAA/NSIDC sea ice).
SMALL = [
    SAMPLES / "ozone" / "o3_esacci_total_column_merged_200505_subset.nc",
    SAMPLES / "ocean_waves" / "swh_esacci_seastate_l4_monthly_200505_subset.nc",
    SAMPLES / "sea_ice" / "seaice_conc_cdr_v4_monthly_nh_202112.nc",
]
#: Tables whose rows are the hub's state (rate-limit counters are not: every request counts).
STATE_TABLES = (
    "sco_collections",
    "sco_collection_versions",
    "sco_items",
    "sco_audit",
    "sco_jobs",
    "sco_api_keys",
)

_TEMPLATE: dict[str, Path] = {}


def small_hub(tmp: Path, template_root: Path) -> Path:
    """Return a fresh hub holding the :data:`SMALL` samples (ingested once, then copied)."""
    template = _TEMPLATE.get("small")
    if template is None:
        from spaceclimate.ingest import Ingestor

        template = template_root / "small-hub"
        ingestor = Ingestor(Settings(home=template))
        try:
            results = ingestor.ingest(list(SMALL))
        finally:
            ingestor.close()
        assert [r.status for r in results] == ["published"] * 3
        _TEMPLATE["small"] = template
    home = tmp / "hub"
    shutil.copytree(template, home)
    return home


def make_key(home: Path, *scopes: str, name: str = "") -> tuple[str, str]:
    """Create an API key in the hub at *home*; return its id and token."""
    access = Access(Settings(home=home))
    try:
        key, token = access.keys.create(list(scopes), name)
    finally:
        access.close()
    return key.id, token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of *token*."""
    return {"Authorization": f"Bearer {token}"}


def snapshot(home: Path) -> tuple[dict[str, str], dict[str, list[tuple[Any, ...]]]]:
    """Return every store and upload file's hash and the rows of the state tables."""
    files: dict[str, str] = {}
    for folder in ("store", "uploads"):
        root = home / folder
        if root.exists():
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    files[f"{folder}/{p.relative_to(root).as_posix()}"] = hashlib.sha256(
                        p.read_bytes()
                    ).hexdigest()
    rows: dict[str, list[tuple[Any, ...]]] = {}
    con = sqlite3.connect(home / "catalog.db")
    try:
        for table in STATE_TABLES:
            rows[table] = sorted(con.execute(f'select * from "{table}"').fetchall(), key=repr)
    finally:
        con.close()
    return files, rows


def wait_for_job(
    client: Any, job_id: str, timeout: float = 120.0, **request: Any
) -> dict[str, Any]:
    """Poll ``/jobs/{id}`` until the job ends; return its status document.

    *request* is given to each ``client.get``: the submitter's key (``headers=``) or the
    job's access token (``params={"access": ...}``).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{job_id}", **request).json()
        if status["status"] not in ("accepted", "running"):
            return dict(status)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end within {timeout} s")


def sha256_file(path: Path) -> str:
    """Return the sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
