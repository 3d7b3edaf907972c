"""Operations: request ids, JSON logs, Prometheus metrics (aggregated over workers), many API
workers under concurrent load, and the example deployment (PostgreSQL, API workers and a
separate job worker, started from docs/deploy) run for real.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from spaceclimate.api import create_app
from spaceclimate.config import Settings
from spaceclimate.jobs import JobStore
from spaceclimate.ops.logs import REQUEST_ID, JSONFormatter, log_config

from . import services
from .conftest import free_port, start_server, stop_server
from .opshub import REPO, SMALL, bearer, make_key, sha256_file, small_hub

OZONE = "esa-cci-ozone-tc"
READS = {
    "search": f"/stac/search?collections={OZONE}&bbox=20,20,40,40&limit=5",
    "tile": f"/tiles/{OZONE}/toz/3/4/3.png",
    "position": f"/edr/collections/{OZONE}/position?coords=POINT(30 30)&parameter-name=toz",
    "collection": f"/stac/collections/{OZONE}",
}
ROUTES = {
    "search": "/stac/search",
    "tile": "/tiles/{cid}/{variable}/{z}/{x}/{y}.png",
    "position": "/edr/collections/{collection_id}/position",
    "collection": "/stac/collections/{collection_id}",
}


@pytest.fixture()
def hub(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_hub(tmp_path, tmp_path_factory.getbasetemp())


def metric(text_: str, name: str, **labels: str) -> float:
    """Sum the samples of *name* whose labels include *labels*."""
    total = 0.0
    for line in text_.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _sep, value = line.rpartition(" ")
        sample, _brace, label_text = head.partition("{")
        if sample != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


# -- in-process ---------------------------------------------------------------------------------
def test_request_ids_are_echoed_or_made(hub: Path) -> None:
    with TestClient(create_app(Settings(home=hub, job_workers=0))) as c:
        given = c.get("/health", headers={"X-Request-ID": "lb-7f3a:01"})
        assert given.headers["x-request-id"] == "lb-7f3a:01"
        made = c.get("/health").headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        bad = c.get("/health", headers={"X-Request-ID": "x" * 200}).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", bad)  # unusable ids are replaced
        problem = c.get("/stac/collections/nope", headers={"X-Request-ID": "r-404"})
        assert problem.status_code == 404 and problem.headers["x-request-id"] == "r-404"


def test_json_log_lines() -> None:
    formatter = JSONFormatter()
    token = REQUEST_ID.set("req-1")
    try:
        record = logging.LogRecord(
            "spaceclimate.access", logging.INFO, "", 0, "GET %s", ("/x",), None
        )
        record.sco = {"status": 200, "duration_ms": 1.5}
        line = json.loads(formatter.format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["message"] == "GET /x" and line["request_id"] == "req-1"
    assert line["status"] == 200 and line["pid"] == os.getpid() and line["level"] == "info"
    assert line["time"].endswith("Z")
    config = log_config("warning")
    assert config["loggers"]["spaceclimate"]["level"] == "WARNING"
    assert config["loggers"]["uvicorn.access"]["handlers"] == []  # ours replaces it


def test_metrics_by_route_template_and_jobs_from_the_database(hub: Path) -> None:
    jobs = JobStore(Settings(home=hub).resolved_catalog_url)
    for _ in range(3):
        jobs.create("area-mean", {"collection": OZONE}, 60)
    done = jobs.create("area-mean", {"collection": OZONE}, 60)
    jobs.finish(done.id, "failed", "test")
    jobs.close()
    with TestClient(create_app(Settings(home=hub, job_workers=0))) as c:
        before = c.get("/metrics").text
        for cid in (OZONE, "nsidc-seaice-cdr-nh-monthly", "nope"):
            c.get(f"/stac/collections/{cid}")
        after = c.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    body = after.text
    route = "/stac/collections/{collection_id}"

    def delta(name: str, **labels: str) -> float:
        return metric(body, name, **labels) - metric(before, name, **labels)

    assert delta("sco_http_requests_total", route=route, status="200") == 2
    assert delta("sco_http_requests_total", route=route, status="404") == 1
    assert delta("sco_http_request_duration_seconds_count", route=route) == 3
    assert delta("sco_http_response_bytes_total", route=route) > 2000
    assert metric(body, "sco_jobs", state="accepted") == 3
    assert metric(body, "sco_jobs", state="failed") == 1
    assert metric(body, "sco_jobs", state="running") == 0
    assert metric(body, "sco_collections") == 3


# -- many workers -------------------------------------------------------------------------------
class Drain:
    """Read a process's stderr lines in a thread (so that the pipe never fills)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            self.lines.append(raw.decode(errors="replace"))

    def json_lines(self) -> list[dict[str, object]]:
        self._thread.join(timeout=10)
        out = []
        for line in self.lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


async def fire(url: str, paths: list[tuple[str, str]]) -> list[tuple[str, int, str, str]]:
    """Send every request at once; return (kind, status, sent id, echoed id)."""
    limits = httpx.Limits(max_connections=len(paths), max_keepalive_connections=len(paths))
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one(kind: str, path: str, rid: str) -> tuple[str, int, str, str]:
            r = await client.get(path, headers={"X-Request-ID": rid})
            return kind, r.status_code, rid, r.headers.get("x-request-id", "")

        return await asyncio.gather(
            *(one(kind, path, f"load-{i}") for i, (kind, path) in enumerate(paths))
        )


def test_two_workers_answer_200_concurrent_reads(hub: Path) -> None:
    key_id, token = make_key(hub, "provider:ESA")
    env = {"SCO_LOG_FORMAT": "json", "SCO_QUEUE_TIMEOUT": "60"}  # a burst queued, not shed
    url, proc = start_server(hub, "--workers", "2", "--log-level", "info", env=env)
    drain = Drain(proc)
    try:
        for kind, path in READS.items():  # warm each worker's caches a little
            assert httpx.get(url + path, timeout=60).status_code == 200, kind
        paths = [(kind, READS[kind]) for _ in range(50) for kind in READS]
        start = time.perf_counter()
        answers = asyncio.run(fire(url, paths))
        seconds = time.perf_counter() - start
        print(f"\n200 concurrent reads on 2 workers: {seconds:.2f} s")  # noqa: T201
        assert len(answers) == 200
        assert [a for a in answers if a[1] != 200] == []
        assert all(sent == echoed for _k, _s, sent, echoed in answers)
        # an authenticated write: its key id appears in the access log
        r = httpx.post(f"{url}/stac/collections", json={}, headers=bearer(token))
        assert r.status_code == 400
        metrics = httpx.get(f"{url}/metrics").text
        for _ in range(3):  # whichever worker answers, it reports both
            again = httpx.get(f"{url}/metrics").text
            assert metric(again, "sco_api_processes") == 2
            for kind, route in ROUTES.items():
                n = metric(again, "sco_http_requests_total", route=route, status="200")
                assert n == 51, (kind, n)  # 50 under load + 1 warm-up, over both workers
        assert metric(metrics, "sco_jobs", state="accepted") == 0
        counters = sorted(p.name for p in (hub / "metrics").glob("counter_*.db"))
        assert len(counters) == 2  # one file a worker: both served
    finally:
        stop_server(proc)
    lines = drain.json_lines()
    access = [line for line in lines if line.get("logger") == "spaceclimate.access"]
    by_id = {line["request_id"]: line for line in access}
    for i in range(200):
        line = by_id[f"load-{i}"]
        assert line["status"] == 200 and line["method"] == "GET"
        assert isinstance(line["duration_ms"], float) and line["bytes"] > 0
    assert {line["pid"] for line in access if str(line["request_id"]).startswith("load-")} == {
        int(name.split("_")[1].split(".")[0]) for name in counters
    }
    write = next(line for line in access if line["method"] == "POST")
    assert write["key_id"] == key_id and write["status"] == 400
    assert write["route"] == "/stac/collections"


# -- the example deployment ---------------------------------------------------------------------
def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _sep, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def test_example_deployment_runs(tmp_path: Path) -> None:
    """docs/deploy: the env file and Procfile, on PostgreSQL, with a separate job worker."""
    deploy = REPO / "docs" / "deploy"
    procfile = dict(
        line.split(": ", 1) for line in (deploy / "Procfile").read_text().splitlines() if line
    )
    example = read_env_file(deploy / "sco.env")
    assert example["SCO_JOB_WORKERS"] == "0" and example["SCO_LOG_FORMAT"] == "json"
    port = free_port()
    with services.fresh_database("sco_deploy") as db_url:
        env = {
            **os.environ,
            **example,
            # this machine's stand-ins for the example's hosts
            "SCO_HOME": str(tmp_path / "shared"),
            "SCO_CATALOG_URL": db_url,
            "SCO_REDIS_URL": "redis://127.0.0.1:6379/0",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
        env.pop("SCO_PUBLIC_URL")
        # provisioning, as docs/deploy.md says: the shared store folder and the schema
        (tmp_path / "shared" / "store").mkdir(parents=True)
        subprocess.run(["sco", "catalog", "migrate"], env=env, check=True, capture_output=True)
        made = subprocess.run(
            ["sco", "keys", "create", "--scope", "provider:ESA", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        token = json.loads(made.stdout)["token"]
        logs = {name: (tmp_path / f"{name}.log").open("wb") for name in procfile}
        procs = {
            name: subprocess.Popen(
                ["bash", "-c", f"exec {command}"], env=env, stdout=logs[name], stderr=logs[name]
            )
            for name, command in procfile.items()
        }
        url = f"http://127.0.0.1:{port}"
        try:
            deadline, ready = time.monotonic() + 90, False
            while not ready and time.monotonic() < deadline:
                try:
                    ready = httpx.get(f"{url}/ready", timeout=2).status_code == 200
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            assert ready, (tmp_path / "api.log").read_text()[-2000:]
            ozone = SMALL[0]
            r = httpx.post(
                f"{url}/ingest",
                files=[("files", (ozone.name, ozone.read_bytes()))],
                headers=bearer(token),
                timeout=60,
            )
            assert r.status_code == 201, r.text
            assert r.json()["jobID"] in r.headers["location"]
            assert r.headers["location"].startswith(url)  # SCO_PUBLIC_URL unset: from the request
            job_id = r.json()["jobID"]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                status = httpx.get(f"{url}/jobs/{job_id}", headers=bearer(token)).json()
                if status["status"] not in ("accepted", "running"):
                    break
                time.sleep(0.3)
            assert status["status"] == "successful", status
            store = JobStore(db_url)
            owner = store.get(job_id).owner
            store.close()
            assert owner is not None and owner.endswith(f":{procs['jobs'].pid}")  # the worker
            doc = httpx.get(f"{url}/stac/collections/{OZONE}").json()
            assert doc["sco:version"] == 1
            items = httpx.get(f"{url}/stac/collections/{OZONE}/items").json()["features"]
            assert [i["assets"]["source"]["sco:source_file"]["file:checksum"] for i in items] == [
                "1220" + sha256_file(ozone)
            ]
            position = httpx.get(url + READS["position"], timeout=60)
            assert position.status_code == 200
            metrics = httpx.get(f"{url}/metrics").text
            assert metric(metrics, "sco_api_processes") == 2
            assert metric(metrics, "sco_jobs", state="successful") == 1
        finally:
            for proc in procs.values():
                proc.send_signal(signal.SIGINT if proc is procs["jobs"] else signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for handle in logs.values():
                handle.close()
        api_log = (tmp_path / "api.log").read_text()
        access = [json.loads(x) for x in api_log.splitlines() if '"spaceclimate.access"' in x]
        assert any(a["path"] == "/ingest" and a["status"] == 201 for a in access)
