"""Real services for the tests of scale-out: an S3-compatible server, a Dask cluster of
separate processes, and fresh PostgreSQL databases. Each is started (or created) on this
machine's loopback only, and stopped (or dropped) by its context manager."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "SCO_TEST_POSTGRESQL_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: Credentials the S3-compatible test server accepts (it accepts any).
S3_KEY, S3_SECRET = "sco-test-key", "sco-test-secret"


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- S3 -------------------------------------------------------------------------------------------
@dataclass
class S3Server:
    """A local S3-compatible server (moto's standalone server) and how to reach it."""

    endpoint: str
    proc: subprocess.Popen[bytes]

    @property
    def options(self) -> dict[str, str]:
        """The hub's ``SCO_STORE_OPTIONS`` for this server."""
        return {"endpoint_url": self.endpoint, "key": S3_KEY, "secret": S3_SECRET}

    def filesystem(self):  # type: ignore[no-untyped-def]
        """A fresh s3fs file system on this server (not cached, listings not cached)."""
        import s3fs

        return s3fs.S3FileSystem(
            endpoint_url=self.endpoint,
            key=S3_KEY,
            secret=S3_SECRET,
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    def create_bucket(self, name: str) -> None:
        """Create a bucket (an empty one)."""
        self.filesystem().mkdir(name)


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """Run moto's S3-compatible server on a free loopback port until the block ends."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the S3 test server exited at start"
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the S3 test server did not start"
                time.sleep(0.2)
        yield S3Server(endpoint, proc)
    finally:
        _stop(proc)


# -- Dask -----------------------------------------------------------------------------------------
@dataclass
class DaskCluster:
    """A Dask scheduler and its workers, each a separate process."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)


@contextmanager
def dask_cluster(n_workers: int = 2, log_dir: Path | None = None) -> Iterator[DaskCluster]:
    """Start ``dask scheduler`` and *n_workers* ``dask worker`` processes (one thread each)."""
    from distributed import Client

    folder = Path(tempfile.mkdtemp(prefix="sco-dask-")) if log_dir is None else log_dir
    scheduler_file = folder / "scheduler.json"
    common = dict(os.environ)
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        cwd=REPO,
        env=common,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "scheduler.log").open("wb"),
    )
    cluster = DaskCluster("", scheduler)
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() or not scheduler_file.read_text().strip():
            assert scheduler.poll() is None, "the Dask scheduler exited at start"
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        cluster.address = json.loads(scheduler_file.read_text())["address"]
        for i in range(n_workers):
            cluster.workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        cluster.address,
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--name",
                        f"sco-test-worker-{i}",
                        "--local-directory",
                        str(folder / f"worker-{i}"),
                    ],
                    cwd=REPO,
                    env=common,
                    stdout=subprocess.DEVNULL,
                    stderr=(folder / f"worker-{i}.log").open("wb"),
                )
            )
        with Client(cluster.address, set_as_default=False, timeout=30) as client:
            client.wait_for_workers(n_workers, timeout=120)
        yield cluster
    finally:
        for worker in cluster.workers:
            _stop(worker)
        _stop(scheduler)


# -- PostgreSQL -----------------------------------------------------------------------------------
def _admin():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(
        ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


def create_database(prefix: str = "sco_scale") -> str:
    """Create an empty PostgreSQL database; return its URL."""
    from sqlalchemy import text

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def drop_database(url: str) -> None:
    """Drop a database made by :func:`create_database` (closing its connections)."""
    from sqlalchemy import text

    name = url.rsplit("/", 1)[-1]
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def fresh_database(prefix: str = "sco_test") -> Iterator[str]:
    """Yield the URL of a new, empty PostgreSQL database; drop it afterwards."""
    url = create_database(prefix)
    try:
        yield url
    finally:
        drop_database(url)


def copy_database(source: str, target: str) -> None:
    """Copy every table of *source* into the empty database *target* (pg_dump | psql)."""
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", source],
        capture_output=True,
        check=True,
    )
    subprocess.run(
        ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", target],
        input=dump.stdout,
        capture_output=True,
        check=True,
    )
