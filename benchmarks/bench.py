"""The benchmark suite: the hub against its peers on the same grown data, one table of medians.

Run with ``make bench`` (which first runs ``benchmarks/setup_peers.sh``), or directly::

    .venv/bin/python benchmarks/bench.py                 # everything, the full sizes
    .venv/bin/python benchmarks/bench.py --quick         # small sizes, to try the suite
    .venv/bin/python benchmarks/bench.py --only point tiles

Scenarios (see each ``scenario_*.py``): 1 ingest, 2 point series (EDR position), 3 map tiles,
4 area mean, 5 catalog search, 6 load, 7 a place's dossier (on the bundled samples). The table is printed last and written, with the
machine description and the targets check, into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets  # noqa: E402
import report  # noqa: E402
from harness import DATA, Row, log  # noqa: E402

SCENARIOS = ("ingest", "point", "tiles", "area", "search", "load", "dossier")
#: Each scenario's latest rows (full sizes): a partial run (``--only``) updates its own and
#: the page is written from all of them.
RESULTS = DATA / "results.json"
#: Note of the ingest rows measured while building the serving hubs (kept while they are reused).
BUILD_NOTE = "one run (building the serving hub)"


@dataclass
class Sizes:
    """How big each part of the run is."""

    years: int = 20  # the serving record (0.5 degree daily)
    growth_years: tuple[int, ...] = (1, 5)
    ingest_days: tuple[int, ...] = (30, 90, 365)  # 0.25 degree daily files
    ingest_rounds: int = 3
    points: int = 20
    point_rounds: int = 3
    plain_points: int = 2
    tiles_per_zoom: int = 8
    tile_rounds: int = 2
    area_rounds: int = 2
    catalog_items: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    queries: int = 100
    load_clients: tuple[int, ...] = (1, 2, 4, 8, 32)
    load_seconds: float = 20.0
    dossier_rounds: int = 5


QUICK = Sizes(
    years=2,
    growth_years=(1,),
    ingest_days=(10, 30),
    ingest_rounds=2,
    points=5,
    point_rounds=2,
    plain_points=2,
    tiles_per_zoom=3,
    tile_rounds=1,
    area_rounds=1,
    catalog_items=(10_000,),
    queries=30,
    load_clients=(8,),
    load_seconds=10.0,
    dossier_rounds=2,
)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios and report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a trial run)")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--years", type=int, default=None, help="serving record in years")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument(
        "--report", action="store_true", help="only write the page from the stored results"
    )
    args = parser.parse_args(argv)
    # a SIGTERM unwinds like an error, so every server started is stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    sizes = QUICK if args.quick else Sizes()
    if args.years:
        sizes.years = args.years
    started = time.perf_counter()
    results = _load_results()
    if args.report:
        args.only = []
    days = round(sizes.years * 365.25)
    need_hub = set(args.only) - {"ingest", "search", "dossier"}  # (empty with --report)
    home = plain = None
    growth_homes: dict[int, Path] = {}
    build_rows: list[Row] = []
    if need_hub:
        src50 = datasets.sources(0.5, days)
        for years in sorted({*sizes.growth_years, sizes.years}):
            home_y, seconds, peak = datasets.hub(years, round(years * 365.25), src50)
            if years == sizes.years:
                home = home_y
            else:
                growth_homes[years] = home_y
            if seconds == seconds:  # built now: an ingest figure for the growth table
                mb = sum(p.stat().st_size for p in datasets.files(src50, round(years * 365.25)))
                build_rows.append(
                    Row(
                        "1 ingest",
                        f"0.5 deg, {years} y, {mb / 1e6:,.0f} MB",
                        "sco ingest",
                        "MB/s",
                        mb / 1e6 / seconds,
                        "MB/s",
                        peak_mb=peak,
                        note=BUILD_NOTE,
                    )
                )
        assert home is not None
        plain = datasets.plain_copy(sizes.years, home)
    for name in SCENARIOS:
        if name not in args.only:
            continue
        start = time.perf_counter()
        rows = _run(name, sizes, home, plain, growth_homes)
        if name == "ingest":
            if not build_rows and "ingest" in results:  # hubs reused: keep the rows of the
                build_rows = [  # run that built them
                    Row(**r) for r in results["ingest"]["rows"] if r["note"] == BUILD_NOTE
                ]
            rows = build_rows + rows
        results[name] = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "minutes": (time.perf_counter() - start) / 60,
            "quick": args.quick,
            "rows": [asdict(r) for r in rows],
        }
        _save_results(results)
    minutes = (time.perf_counter() - started) / 60
    rows = [Row(**r) for name in SCENARIOS if name in results for r in results[name]["rows"]]
    checks = report.targets(rows, f"{sizes.years} y")
    print()
    print(report.table(rows))
    print()
    for target, measured, verdict in checks:
        print(f"{verdict:>6}  {target}: {measured}")
    print(f"\n{minutes:.1f} minutes")
    if not args.no_docs and not args.quick:
        runs = [(n, results[n]["when"], results[n]["minutes"]) for n in SCENARIOS if n in results]
        path = report.write_docs(rows, checks, runs)
        log(f"wrote {path}")
    return 0


def _run(
    name: str, sizes: Sizes, home: Path | None, plain: Path | None, growth: dict[int, Path]
) -> list[Row]:
    """Run one scenario; return its rows."""
    rows: list[Row] = []
    if name == "ingest":
        import scenario_ingest

        src25 = datasets.sources(0.25, max(sizes.ingest_days))
        return scenario_ingest.run(src25, list(sizes.ingest_days), sizes.ingest_rounds)
    if name == "dossier":  # on the hub of the bundled samples, built by the scenario
        import scenario_dossier

        return scenario_dossier.run(sizes.dossier_rounds)
    if name == "search":
        import scenario_search

        return scenario_search.run(list(sizes.catalog_items), sizes.queries, None)
    assert home is not None and plain is not None
    if name == "point":
        import scenario_point

        for years, home_y in sorted(growth.items()):
            rows.append(scenario_point.growth(home_y, years, sizes.points))
        return rows + scenario_point.run(
            sizes.years, home, plain, sizes.points, sizes.point_rounds, sizes.plain_points
        )
    if name == "tiles":
        import scenario_tiles

        return scenario_tiles.run(sizes.years, home, plain, sizes.tiles_per_zoom, sizes.tile_rounds)
    if name == "area":
        import scenario_area

        for years, home_y in sorted(growth.items()):
            rows.append(scenario_area.growth(years, home_y))
        return rows + scenario_area.run(sizes.years, home, plain, sizes.area_rounds)
    import scenario_load

    return scenario_load.run(sizes.years, home, list(sizes.load_clients), sizes.load_seconds)


def _load_results() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def _save_results(results: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.exit(main())
