"""The hostile clients of tests/test_hardening_load.py, run in a process of their own.

``python -m tests.loadclient URL CLIENTS SECONDS`` runs CLIENTS clients on loopback that ask
URL for searches, tiles, point series and whole-collection CSV downloads back to back for
SECONDS, retrying refusals at once, and prints what they saw as one JSON object. A process
of its own: the test process's heap (and its collector's pauses) must not slow the clients.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field

import aiohttp

OSTIA = "ukmo-ostia-sst-daily"


@dataclass
class Tally:
    """What the clients saw: latency of admitted requests by kind, and every status."""

    latency: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    refusals_without_retry_after: int = 0
    errors: list[str] = field(default_factory=list)
    downloaded: int = 0
    complete_downloads: int = 0

    def p99(self, kinds: list[str] | None = None) -> float:
        values = sorted(
            v for k, vs in self.latency.items() if kinds is None or k in kinds for v in vs
        )
        return values[int(0.99 * (len(values) - 1))] if values else 0.0


def request_for(kind: str, rng: random.Random) -> str:
    """A path of *kind*: a search, a tile, a point series or a whole-collection CSV."""
    if kind == "search":
        w = rng.uniform(-180, 150)
        s = rng.uniform(-90, 60)
        return f"/stac/search?collections={OSTIA}&bbox={w:.1f},{s:.1f},{w + 30:.1f},{s + 30:.1f}"
    if kind == "tile":
        z = rng.randint(0, 3)
        x, y = rng.randrange(2**z), rng.randrange(2**z)
        return f"/tiles/{OSTIA}/sst/{z}/{x}/{y}.png"
    if kind == "series":
        lon, lat = rng.uniform(-170, 170), rng.uniform(-60, 60)
        return f"/edr/collections/{OSTIA}/position?coords=POINT({lon:.2f} {lat:.2f})"
    return f"/download/{OSTIA}?format=csv"


MIX = ["search"] * 3 + ["tile"] * 4 + ["series"] * 2 + ["download"]


async def client(
    session: aiohttp.ClientSession, url: str, seed: int, deadline: float, tally: Tally
) -> None:
    """One hostile client: requests back to back until *deadline*, refusals retried at once."""
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        kind = rng.choice(MIX)
        start = time.monotonic()
        try:
            async with session.get(url + request_for(kind, rng)) as r:
                waited = time.monotonic() - start
                tally.statuses[r.status] = tally.statuses.get(r.status, 0) + 1
                if r.status in (429, 503):
                    if "Retry-After" not in r.headers:
                        tally.refusals_without_retry_after += 1
                    await r.read()
                    await asyncio.sleep(0)
                    continue
                tally.latency.setdefault(kind, []).append(waited)
                async for chunk in r.content.iter_any():
                    tally.downloaded += len(chunk)
                    if time.monotonic() > deadline + 30:
                        break
                else:
                    if kind == "download" and r.status == 200:
                        tally.complete_downloads += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            tally.errors.append(f"{kind}: {type(exc).__name__}: {exc}")


async def hostile_load(url: str, clients: int, seconds: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session, url, i, deadline, tally) for i in range(clients)))
    return tally


def main(argv: list[str]) -> None:
    url, clients, seconds = argv[0], int(argv[1]), float(argv[2])
    gc.collect()
    gc.freeze()  # what exists now is never scanned again: no long pauses while measuring
    tally = asyncio.run(hostile_load(url, clients, seconds))
    print(json.dumps(asdict(tally)))


if __name__ == "__main__":
    main(sys.argv[1:])
