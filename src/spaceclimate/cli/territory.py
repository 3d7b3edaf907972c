"""``sco territory``: add, list, show and delete territories, upload local data, match it.

Commands run on the hub's machine (``SCO_HOME``): territories made here have no owner key and
are seen by admin keys only unless ``--publish``. Registered (with their errors turned into
one-line messages) by :mod:`spaceclimate.cli.main`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from spaceclimate.errors import InputError

territory_app = typer.Typer(
    help="Territories: places to study, their local (station) data and match-ups.",
    no_args_is_help=True,
)
out = Console(width=None if sys.stdout.isatty() else 200)


@contextmanager
def _hub() -> Iterator[Any]:
    from spaceclimate.config import get_settings
    from spaceclimate.services.context import HubContext
    from spaceclimate.territories import territories_for

    ctx = HubContext(get_settings())
    try:
        yield territories_for(ctx)
    finally:
        ctx.close()


def _caller() -> Any:
    from spaceclimate.territories import Caller

    return Caller.hub()


def _feature(
    name: str,
    geojson: Path | None,
    point: str | None,
    radius_km: float | None,
    region: str | None,
    description: str,
    publish: bool,
) -> dict[str, Any]:
    given = sum(x is not None for x in (geojson, point, region))
    if given != 1:
        raise InputError("give exactly one of --geojson FILE, --point LON,LAT or --region NAME")
    props: dict[str, Any] = {"name": name, "published": publish}
    if description:
        props["description"] = description
    if geojson is not None:
        try:
            doc = json.loads(geojson.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"--geojson: cannot read {geojson} ({exc})") from exc
        geometry = doc.get("geometry") if doc.get("type") == "Feature" else doc
        return {"type": "Feature", "geometry": geometry, "properties": props}
    if point is not None:
        try:
            lon, lat = (float(v) for v in point.split(","))
        except ValueError as exc:
            raise InputError("--point: expected LON,LAT, e.g. -4.49,48.39") from exc
        if radius_km is None:
            raise InputError("--point needs --radius-km")
        props["radius_km"] = radius_km
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": props,
        }
    props["region"] = region
    return {"type": "Feature", "geometry": None, "properties": props}


def territory_add(
    name: Annotated[str, typer.Option(help="The territory's name.")],
    geojson: Annotated[Path | None, typer.Option(help="A GeoJSON polygon (file).")] = None,
    point: Annotated[str | None, typer.Option(help="Centre LON,LAT of a circle.")] = None,
    radius_km: Annotated[float | None, typer.Option(help="Radius of the circle (km).")] = None,
    region: Annotated[
        str | None, typer.Option(help="A bundled region: country:FRA, ar6:NAO, France, ...")
    ] = None,
    description: Annotated[str, typer.Option(help="What the territory is.")] = "",
    publish: Annotated[bool, typer.Option(help="Seen by everyone (else admin keys only).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a territory: a GeoJSON polygon, a point with a radius, or a bundled region."""
    feature = _feature(name, geojson, point, radius_km, region, description, publish)
    with _hub() as hub:
        doc = hub.add(feature, _caller())
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
        return
    west, south, east, north = doc["bbox"]
    out.print(
        f"added territory {doc['id']} ({doc['kind']}, bbox {west:.3f},{south:.3f},"
        f"{east:.3f},{north:.3f})",
        highlight=False,
    )


def territory_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every territory of the hub."""
    with _hub() as hub:
        docs = hub.store.list_territories(_caller())
    if as_json:
        typer.echo(json.dumps(docs, indent=2))
        return
    table = Table("id", "name", "kind", "published", "owner", "created")
    for d in docs:
        table.add_row(
            d["id"],
            d["name"],
            d["kind"],
            "yes" if d["published"] else "no",
            d["owner"] or "(hub)",
            d["created"][:19],
        )
    out.print(table)


def territory_show(territory_id: Annotated[str, typer.Argument(help="Territory id.")]) -> None:
    """Show a territory and its local datasets (JSON)."""
    with _hub() as hub:
        doc = hub.get(territory_id, _caller())
        doc["datasets"] = hub.store.datasets(territory_id)
    typer.echo(json.dumps(doc, indent=2))


def territory_delete(territory_id: Annotated[str, typer.Argument(help="Territory id.")]) -> None:
    """Delete a territory and its local data."""
    with _hub() as hub:
        hub.store.delete(territory_id, _caller())
    out.print(f"deleted territory {territory_id}", highlight=False)


def territory_upload(
    territory_id: Annotated[str, typer.Argument(help="Territory id.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (lon,lat,time,value,units,variable) or CF NetCDF time series.",
            exists=True,
            dir_okay=False,
        ),
    ],
    name: Annotated[str, typer.Option(help="Name of the data (default: the variable).")] = "",
) -> None:
    """Upload local (station) data into a territory; a bad line refuses the whole file."""
    with _hub() as hub:
        docs = hub.upload(territory_id, file.read_bytes(), _caller(), name=name, filename=file.name)
    for d in docs:
        out.print(
            f"stored {d['id']}: {d['variable']} in {d['units']}, {d['rows']} values at "
            f"{len(d['stations'])} station(s), {d['start'][:10]} to {d['end'][:10]}",
            highlight=False,
        )


def territory_matchup(
    territory_id: Annotated[str, typer.Argument(help="Territory id.")],
    local: Annotated[str, typer.Option(help="Local dataset id, or collection:<id>.")],
    collection: Annotated[
        str | None, typer.Option(help="Pooled record (default: all of the same variable).")
    ] = None,
    method: Annotated[str, typer.Option(help="nearest, radius or area.")] = "nearest",
    radius_km: Annotated[float, typer.Option(help="Radius of method radius (km).")] = 25.0,
    window: Annotated[str | None, typer.Option(help="ISO 8601 duration (P1D, PT6H).")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the pairs here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the scatter plot (PNG) here.")] = None,
) -> None:
    """Match a local series against pooled records: pairs, bias, RMSD, correlation, slope."""
    from spaceclimate.territories.plots import scatter_png

    with _hub() as hub:
        results = hub.matchups(
            territory_id,
            _caller(),
            local=local,
            collection=collection,
            method=method,
            radius_km=radius_km,
            window=window,
        )
    table = Table("collection", "N", "bias", "RMSD", "r", "slope", "units")
    for r in results:
        s = r.statistics

        def fmt(key: str, stats: dict[str, Any] = s) -> str:
            return "" if stats.get(key) is None else f"{stats[key]:.4g}"

        table.add_row(
            str(r.product.extra.get("collection")),
            str(s["n"]),
            fmt("bias"),
            fmt("rmsd"),
            fmt("correlation"),
            fmt("slope"),
            str(s.get("units", "")),
        )
    out.print(table)
    if csv_out is not None:
        results[0].pairs.to_csv(csv_out, index=False)
        out.print(f"pairs written to {csv_out}", highlight=False)
    if plot is not None:
        plot.write_bytes(scatter_png(results[0]))
        out.print(f"scatter plot written to {plot}", highlight=False)


indicator_app = typer.Typer(
    help="Indicators that travel: list them, export one as a package, import a package.",
    no_args_is_help=True,
)


def _indicator_folder() -> Path:
    from spaceclimate.compute.travelling import hub_indicators
    from spaceclimate.config import get_settings

    return hub_indicators(get_settings().home)


def indicator_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the indicators (bundled and imported); each runs with 'sco compute ID'."""
    from spaceclimate.compute.travelling import definitions

    _indicator_folder()
    found = definitions()
    if as_json:
        typer.echo(json.dumps([d.document() for d in found.values()], indent=2))
        return
    table = Table("id", "version", "title", "input", "operation", "units")
    for d in found.values():
        table.add_row(
            d.id, d.version, d.title, f"{d.input.ecv}/{d.input.variable}", d.operation, d.units
        )
    out.print(table)


def indicator_export(
    indicator_id: Annotated[str, typer.Argument(help="Indicator id.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
) -> None:
    """Export an indicator as a self-describing package (JSON) another hub can import."""
    from spaceclimate.compute.travelling import get_definition, package

    _indicator_folder()
    text = json.dumps(package(get_definition(indicator_id)), indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        out.print(f"wrote {output}", highlight=False)


def indicator_import(
    file: Annotated[Path, typer.Argument(help="A package (JSON).", exists=True, dir_okay=False)],
) -> None:
    """Import an indicator package into this hub (checked: its operation and ECV must exist)."""
    from spaceclimate.compute.travelling import save_package

    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: not a JSON package ({exc})") from exc
    definition = save_package(doc, _indicator_folder())
    out.print(
        f"imported indicator {definition.id} {definition.version}; run it with "
        f"'sco compute {definition.id} --territory ID'",
        highlight=False,
    )
