"""Scenario 7: a place's dossier (``GET /dossier``) over every collection of the bundled samples.

The hub alone (no peer answers this question): a server on the hub of the bundled real
samples (44 collections of every grid, built once and reused), asked the dossier of a few
points, ocean and land, polar and tropical. Each point is asked once to open the cubes its
dossier reads (reported as the first request), then ``rounds`` times; the figures are per
request, client to full JSON body, one request at a time. The target: under 1 s.

Standalone (without the rest of the suite)::

    python benchmarks/scenario_dossier.py [--home HUB] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import httpx
from harness import DATA, REPO, Row, Server, free_port, log, median, percentile, run_command

SAMPLES = REPO / "data" / "samples"
#: lon, lat: open ocean, shelf seas, land, polar and tropical places.
POINTS = [
    (-30.33, 45.33),  # North Atlantic
    (2.9011, 51.6011),  # southern North Sea
    (25.33, 34.33),  # eastern Mediterranean
    (2.35, 48.85),  # Paris (land)
    (-150.2, 0.3),  # equatorial Pacific
    (-118.1, 34.1),  # Los Angeles
    (-40.0, 75.0),  # Greenland
    (-60.0, -70.0),  # Weddell Sea
]


def samples_hub() -> Path:
    """The hub of the bundled samples (ingested once, reused while the samples are the same)."""
    home = DATA / "hub-samples"
    files = sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*") if p.is_file())
    stamp = home / "bench-samples.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == files:
        return home
    home.mkdir(parents=True, exist_ok=True)
    log(f"sco ingest of the bundled samples into {home.name}")
    run = run_command(
        [sys.executable, "-m", "spaceclimate", "ingest", "-q", str(SAMPLES)],
        env={"SCO_HOME": str(home)},
    )
    if run.returncode != 0:
        raise RuntimeError(f"sco ingest failed: {run.output[-2000:]}")
    stamp.write_text(json.dumps(files))
    return home


def server(home: Path) -> Server:
    """``sco serve`` on *home* with the interpreter running this script."""
    port = free_port()
    args = [sys.executable, "-m", "spaceclimate", "serve", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--log-level", "warning"]
    env = {"SCO_HOME": str(home), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    return Server("hub-dossier", args, "/", env, REPO, port)


def run(rounds: int, home: Path | None = None) -> list[Row]:
    """Time the dossier at every point; return the table rows."""
    home = home or samples_hub()
    hub = server(home).start()
    first: list[float] = []
    warm: list[float] = []
    considered = 0
    try:
        with httpx.Client(timeout=120) as client:
            for lon, lat in POINTS:
                for k in range(rounds + 1):
                    start = time.perf_counter()
                    response = client.get(f"{hub.base}/dossier", params={"lon": lon, "lat": lat})
                    body = response.json()
                    seconds = time.perf_counter() - start
                    if response.status_code != 200:
                        raise RuntimeError(f"dossier at {lon}, {lat}: {response.text[:300]}")
                    considered = int(body["considered"])
                    (first if k == 0 else warm).append(seconds * 1000)
    finally:
        hub.stop()
    p95 = percentile(warm, 0.95)
    log(f"dossier: median {median(warm):.0f} ms, p95 {p95:.0f} ms, max {max(warm):.0f} ms")
    return [
        Row(
            "7 dossier",
            f"{considered} collections (bundled samples)",
            "hub",
            "median latency",
            median(warm),
            "ms",
            note=f"{len(POINTS)} points x {rounds}, warm; first request a point: "
            f"median {median(first):.0f} ms",
            extra={"p95_ms": p95, "max_ms": max(warm), "first_median_ms": median(first)},
        )
    ]


def main() -> int:
    """Run the scenario alone and print its row."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=None, help="a hub (default: the samples)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for row in run(args.rounds, args.home):
        print(json.dumps(row.__dict__, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
