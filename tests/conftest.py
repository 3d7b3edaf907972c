"""Shared fixtures: the bundled real samples, a hub holding all of them, and a live server.

Hubs follow the test profile (``SCO_TEST_PROFILE``, see ``tests/profile.py``): by default the
embedded hub in ``SCO_HOME``; with ``scale``, PostgreSQL, an S3-compatible store and a Dask
cluster behind the same fixtures.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .profile import SCALE, hub_env, hub_settings
from .profile import shutdown as shutdown_profile

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "local_disk: about cubes on local disk (not run in the scale profile)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the scale profile, leave out the tests that are about local files only."""
    if not SCALE:
        return
    local = [item for item in items if item.get_closest_marker("local_disk")]
    if local:
        config.hook.pytest_deselected(items=local)
        items[:] = [item for item in items if not item.get_closest_marker("local_disk")]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the scale profile's services (nothing to do by default)."""
    shutdown_profile()


@pytest.fixture(scope="session")
def samples() -> Path:
    """Folder of the bundled real satellite samples (``data/samples``)."""
    assert SAMPLES.is_dir(), f"bundled samples missing at {SAMPLES}"
    return SAMPLES


@pytest.fixture(scope="session")
def hub_home(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    """A hub (``SCO_HOME``) with every bundled sample ingested, shared by the session.

    Tests must not write to it; use a ``tmp_path`` hub for that.
    """
    from spaceclimate.ingest import Ingestor

    home = tmp_path_factory.mktemp("hub-all")
    ingestor = Ingestor(hub_settings(home))
    try:
        results = ingestor.ingest([samples])
    finally:
        ingestor.close()
    assert all(r.status == "published" for r in results)
    return home


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``sco serve`` on a free loopback port against *home*; return its URL and process."""
    port = free_port()
    full_env = {**os.environ, "SCO_HOME": str(home), **(env or {})}
    full_env.pop("SCO_CATALOG_URL", None)
    full_env.pop("SCO_STORE_PATH", None)
    full_env.update(hub_env(home))  # the scale profile's catalog, store and cluster
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spaceclimate",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *args,
        ],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"server exited early: {err[-2000:]}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`start_server`."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def live_hub(hub_home: Path) -> Iterator[str]:
    """Base URL of a real ``sco serve`` (uvicorn) process serving :func:`hub_home`."""
    url, proc = start_server(hub_home)
    try:
        yield url
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def api(hub_home: Path) -> Iterator[object]:
    """An in-process ``TestClient`` on ``create_app`` for :func:`hub_home` (fast checks)."""
    from fastapi.testclient import TestClient

    from spaceclimate.api import create_app

    with TestClient(create_app(hub_settings(hub_home))) as client:
        yield client
