"""The results table, the targets check and ``docs/benchmarks.md``."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

from harness import PEERS_PYTHON, REPO, Row

RATE_UNITS = {"MB/s", "tiles/s", "req/s"}
MARKER_START = "<!-- results:start -->"
MARKER_END = "<!-- results:end -->"


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def table(rows: Sequence[Row]) -> str:
    """Markdown table of every row."""
    lines = [
        "| scenario | size | contender | median | hub speed-up | x floor | peak MB | note |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = f"{_num(r.ratio)}x" if r.ratio is not None else ""
        floor = f"{_num(r.floor_x)}" if r.floor_x is not None else ""
        lines.append(
            f"| {r.scenario} | {r.size} | {r.contender} | {_num(r.value)} {r.unit} | {ratio} "
            f"| {floor} | {_num(r.peak_mb, 0)} | {r.note} |"
        )
    return "\n".join(lines)


def _find(rows: Sequence[Row], scenario: str, contender: str, size: str = "") -> list[Row]:
    return [
        r
        for r in rows
        if r.scenario.startswith(scenario) and r.contender == contender and size in r.size
    ]


def targets(rows: Sequence[Row], main_size: str) -> list[tuple[str, str, str]]:
    """Return (target, measured, verdict) for each target of the issue that was measured."""
    out: list[tuple[str, str, str]] = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    ingest = [r for r in rows if r.scenario.startswith("1") and r.contender == "plain xarray"]
    for r in ingest:
        ours = _find(rows, "1", "sco ingest", r.size)[0]
        out.append(
            (
                f"ingest >= 3x plain xarray ({r.size})",
                f"{r.ratio:.2f}x",
                verdict((r.ratio or 0) >= 3),
            )
        )
        out.append(
            (
                f"ingest within 2x of the floor ({r.size})",
                f"{ours.floor_x:.2f}x the floor",
                verdict((ours.floor_x or 99) <= 2),
            )
        )
    hub_point = [r for r in _find(rows, "2", "hub") if "growth" not in r.note]
    if hub_point:
        r = hub_point[0]
        out.append(
            (
                "point series median < 50 ms (20-year daily)",
                f"{r.value:.1f} ms",
                verdict(r.value < 50),
            )
        )
        out.append(
            ("point series >= 5x the fastest peer", f"{r.ratio:.1f}x", verdict((r.ratio or 0) >= 5))
        )
    for kind in ("cold", "warm"):
        peers = [
            r
            for r in rows
            if r.scenario.startswith("3")
            and r.contender.startswith("titiler")
            and r.size.endswith(kind)
        ]
        if peers:
            worst = min(r.ratio or 0 for r in peers)
            out.append(
                (
                    f"tiles >= 3x titiler-xarray ({kind}, both layouts)",
                    f"{worst:.1f}x",
                    verdict(worst >= 3),
                )
            )
    plain_area = [r for r in rows if r.scenario.startswith("4") and r.contender.startswith("plain")]
    if plain_area:
        worst = min(r.ratio or 0 for r in plain_area)
        out.append(
            ("area mean >= 5x plain xarray + regionmask", f"{worst:.1f}x", verdict(worst >= 5))
        )
        hub_area = sorted(_find(rows, "4", "hub"), key=lambda r: r.peak_mb or 0)
        if len(hub_area) > 1:
            low, high = hub_area[0].peak_mb or 0, hub_area[-1].peak_mb or 0
            out.append(
                (
                    "area mean memory bounded whatever the record length",
                    f"peak {low:.0f}..{high:.0f} MB over {len(hub_area)} record lengths",
                    verdict(high <= 1.5 * low + 200),
                )
            )
    dossier = _find(rows, "7", "hub")
    if dossier:
        r = dossier[0]
        worst = r.extra.get("max_ms", r.value)
        out.append(
            (
                "a place's dossier (every collection) < 1 s",
                f"median {r.value:.0f} ms, slowest {worst:.0f} ms",
                verdict(worst < 1000),
            )
        )
    pg = [
        r
        for r in rows
        if r.scenario.startswith("5")
        and r.contender == "stac-fastapi-pgstac"
        and r.size.startswith("1,000,000")
    ]
    if pg:
        ratio = pg[0].ratio or 0
        speed = f"hub {ratio:.2f}x faster" if ratio >= 1 else f"hub {1 / ratio:.2f}x slower"
        out.append(
            (
                "search median no slower than stac-fastapi-pgstac at 1M items",
                f"{speed} ({pg[0].note.split(',')[0]} for pgstac)",
                verdict(ratio >= 1),
            )
        )
    load = [r for r in rows if r.scenario.startswith("6")]
    if load:
        errors = sum(r.extra.get("errors", 0) for r in load)
        out.append(
            ("load: no errors", f"{errors:.0f} errors in {len(load)} runs", verdict(errors == 0))
        )
        within = [r for r in load if r.extra.get("p99_ms", 1e9) < 500]
        best = max(within, key=lambda r: r.value) if within else None
        fastest = max(load, key=lambda r: r.value)
        measured = (
            f"{best.value:.0f} req/s with p99 {best.extra['p99_ms']:.0f} ms ({best.size}); "
            if best
            else "no run with p99 < 500 ms; "
        )
        measured += f"at most {fastest.value:.0f} req/s, p99 {fastest.extra['p99_ms']:.0f} ms"
        out.append(
            ("load: p99 < 500 ms at the sustainable rate", measured, verdict(best is not None))
        )
    del main_size
    return out


def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine() -> str:
    """A short description of the machine and the software versions."""
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024**2
    load = os.getloadavg()
    hub = _cmd(
        [
            str(REPO / ".venv" / "bin" / "python"),
            "-c",
            "import xarray, zarr, numpy, numcodecs, dask; print(f'xarray {xarray.__version__}, "
            "zarr {zarr.__version__}, numpy {numpy.__version__}, numcodecs "
            "{numcodecs.__version__}, dask {dask.__version__}')",
        ]
    )
    peers = _cmd(
        [
            str(PEERS_PYTHON),
            "-c",
            "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
            "['pygeoapi', 'xpublish', 'xpublish-edr', 'titiler-xarray', "
            "'stac-fastapi-pgstac', 'pypgstac', 'xarray', 'zarr']))",
        ]
    )
    pg = _cmd(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "select version()"])
    return (
        f"- CPU: {os.cpu_count()} cores ({cpu}), {mem:.0f} GB RAM, Linux {platform.release()}; "
        f"shared with other work while measuring (load average {load[0]:.1f} at the end)\n"
        f"- Python {platform.python_version()} (hub), {hub}\n"
        f"- peers (their own virtualenv, Python 3.12): {peers}\n"
        f"- {pg.split(',')[0] if pg else 'PostgreSQL'} with PostGIS, default settings\n"
    )


def write_docs(
    rows: Sequence[Row], checks: list[tuple[str, str, str]], runs: list[tuple[str, str, float]]
) -> Path:
    """Write the generated part of ``docs/benchmarks.md`` between its markers."""
    path = REPO / "docs" / "benchmarks.md"
    when = "; ".join(f"{name} {stamp} ({minutes:.1f} min)" for name, stamp, minutes in runs)
    generated = "\n".join(
        [
            MARKER_START,
            "",
            f"Written by `make bench` (`.venv/bin/python benchmarks/bench.py`). Scenarios run: "
            f"{when}.",
            "",
            "### Machine",
            "",
            machine(),
            "### Results (medians)",
            "",
            '"hub speed-up" is how many times faster the hub is than that contender (a ratio of',
            'medians measured in the same run, contenders alternating); "x floor" is how many',
            "times the physical floor of the scenario that figure is.",
            "",
            table(rows),
            "",
            "### Targets",
            "",
            "| target | measured | verdict |",
            "|---|---|---|",
            *[f"| {t} | {m} | {v} |" for t, m, v in checks],
            "",
            MARKER_END,
        ]
    )
    text = path.read_text() if path.exists() else ""
    if MARKER_START in text and MARKER_END in text:
        head, rest = text.split(MARKER_START, 1)
        _old, tail = rest.split(MARKER_END, 1)
        text = head + generated + tail
    else:
        text = (text or "# Benchmarks\n\n") + "\n" + generated + "\n"
    path.write_text(text)
    return path
