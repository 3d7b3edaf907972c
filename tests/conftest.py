"""Shared fixtures: the bundled real samples, a hub holding all of them, and a live server."""

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

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"


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
    from spaceclimate.config import Settings
    from spaceclimate.ingest import Ingestor

    home = tmp_path_factory.mktemp("hub-all")
    ingestor = Ingestor(Settings(home=home))
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
    from spaceclimate.config import Settings

    with TestClient(create_app(Settings(home=hub_home))) as client:
        yield client
