"""The ``sco`` command: ingest, catalog, verify, demo."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from spaceclimate import __version__
from spaceclimate.catalog import SearchQuery, open_catalog
from spaceclimate.cli import access as access_cli
from spaceclimate.cli import peers as peers_cli
from spaceclimate.cli import territory as territory_cli
from spaceclimate.cli.compute import compute_app
from spaceclimate.cli.dossier import dossier_command
from spaceclimate.config import get_settings
from spaceclimate.errors import InputError, SCOError

app = typer.Typer(
    help="Space Climate Observatory data hub: pool satellite climate records into "
    "harmonised Zarr cubes and a STAC catalog.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="List, show and search the catalog.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
jobs_app = typer.Typer(help="List, show and cancel processing jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(compute_app, name="compute")

# Piped output (scripts, logs) is not wrapped at 80 columns: rows stay one line each.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
T = TypeVar("T")

REPO_SAMPLES = Path(__file__).resolve().parents[3] / "data" / "samples"


def _fail(exc: SCOError) -> None:
    err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def guarded(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn hub errors into a one-line message and the error's exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except SCOError as exc:
            _fail(exc)
            raise  # unreachable: _fail exits

    return wrapper


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    if not enabled:
        yield lambda _m, _d, _t: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("starting", total=1)

        def update(message: str, done: int, total: int) -> None:
            bar.update(task, description=message, completed=done, total=max(total, 1))

        yield update


def _ingest(paths: list[Path], recipe: str | None, quiet: bool) -> list[Any]:
    from spaceclimate.ingest import Ingestor

    ingestor = Ingestor(get_settings())
    try:
        with _progress(not quiet and sys.stderr.isatty()) as update:
            ingestor.progress = update
            results = ingestor.ingest(paths, recipe)
    finally:
        ingestor.close()
    return results


@app.command()
@guarded
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of source files.")],
    recipe: Annotated[
        str | None, typer.Option("--recipe", "-r", help="Recipe (collection id) to use.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Harmonise source files and publish them as new collection versions (atomically)."""
    from spaceclimate.ops.memory import keep_freed_memory

    keep_freed_memory()  # a batch command: freed arrays are reused, not faulted in again
    results = _ingest(paths, recipe, quiet)
    for r in results:
        if r.status == "published":
            out.print(f"published {r.collection_id} v{r.version} ({len(r.files)} new file(s))")
        else:
            out.print(f"unchanged {r.collection_id} v{r.version} (all files already ingested)")


def _time_range(col: dict[str, Any]) -> str:
    start, end = col["extent"]["temporal"]["interval"][0]
    if not start and not end:
        return "static"
    return f"{(start or '..')[:10]} .. {(end or '..')[:10]}"


def _print_collections(cols: list[dict[str, Any]]) -> None:
    table = Table(title=f"{len(cols)} collection(s)")
    table.add_column("collection", no_wrap=True)  # ids stay copyable, whatever the width
    for header in ("ECV", "agency", "time range", "version"):
        table.add_column(header, overflow="fold")
    for col in cols:
        table.add_row(
            col["id"],
            col.get("sco:ecv", ""),
            ", ".join(col.get("sco:agencies", [])),
            _time_range(col),
            f"v{col.get('sco:version', '?')}",
        )
    out.print(table)


def _catalog() -> Any:
    return open_catalog(get_settings().resolved_catalog_url)


@catalog_app.command("list")
@guarded
def catalog_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print STAC JSON.")] = False,
) -> None:
    """List every collection with its ECV, agency and time range."""
    cat = _catalog()
    try:
        cols = cat.list_collections()
    finally:
        cat.close()
    if as_json:
        typer.echo(json.dumps({"collections": cols}, indent=2))
    else:
        _print_collections(cols)


@catalog_app.command("show")
@guarded
def catalog_show(
    collection: Annotated[str, typer.Argument(help="Collection id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print STAC JSON.")] = False,
) -> None:
    """Show one collection: description, variables, versions and sources."""
    cat = _catalog()
    try:
        col = cat.get_collection(collection)
        versions = cat.versions(collection)
    finally:
        cat.close()
    if as_json:
        typer.echo(json.dumps(col, indent=2))
        return
    out.print(f"[bold]{col['id']}[/] — {col['title']}")
    out.print(col["description"], highlight=False)
    out.print(f"ECV: {col['sco:ecv']}  agencies: {', '.join(col['sco:agencies'])}")
    out.print(f"time: {_time_range(col)}  bbox: {col['extent']['spatial']['bbox'][0]}")
    out.print(f"licence: {col['license']}  citation: {col.get('sci:citation', '')}")
    if col.get("sci:doi"):
        out.print(f"DOI: {col['sci:doi']}")
    for name, var in col["cube:variables"].items():
        if var["type"] == "data":
            out.print(f"  {name} [{var.get('unit')}] {var.get('description')} {var['dimensions']}")
    for v in versions:
        out.print(f"  v{v.version} {v.created:%Y-%m-%d %H:%M} {v.cube_href} {len(v.sources)} src")


@catalog_app.command("migrate")
@guarded
def catalog_migrate(
    revision: Annotated[str, typer.Option(help="Target revision; default the newest.")] = "head",
) -> None:
    """Bring the catalog database (SQLite or PostgreSQL) to the newest schema migration."""
    from sqlalchemy.exc import OperationalError

    from spaceclimate.db import migrate
    from spaceclimate.db.engine import create_db_engine, redact_url

    url = get_settings().resolved_catalog_url
    engine = create_db_engine(url)
    try:
        before, after = migrate.upgrade(engine, revision)
    except OperationalError as exc:
        raise InputError(f"catalog {redact_url(url)}: cannot connect ({exc.orig})") from exc
    finally:
        engine.dispose()
    out.print(f"catalog {redact_url(url)}: schema {before or 'none'} -> {after}", highlight=False)


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError as exc:
        raise InputError(f"--bbox: not numbers: {text!r}") from exc
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        raise InputError("--bbox: expected minlon,minlat,maxlon,maxlat")
    return (parts[0], parts[1], parts[2], parts[3])


def _parse_when(text: str | None, name: str) -> datetime | None:
    if not text or text == "..":
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{name}: not an ISO 8601 date: {text!r}") from exc
    if stamp.tzinfo is None:
        from datetime import UTC

        stamp = stamp.replace(tzinfo=UTC)
    return stamp


@catalog_app.command("search")
@guarded
def catalog_search(
    bbox: Annotated[str | None, typer.Option(help="minlon,minlat,maxlon,maxlat")] = None,
    datetime_: Annotated[
        str | None, typer.Option("--datetime", help="START/END (ISO 8601; '..' open)")
    ] = None,
    collection: Annotated[list[str] | None, typer.Option(help="Collection id(s).")] = None,
    ecv: Annotated[str | None, typer.Option(help="ECV id, e.g. sea_ice.")] = None,
    agency: Annotated[str | None, typer.Option(help="Agency name, e.g. ESA.")] = None,
    q: Annotated[str | None, typer.Option(help="Free text.")] = None,
    limit: Annotated[int, typer.Option(help="Items per page.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print a STAC ItemCollection.")] = False,
) -> None:
    """Search items by bbox, time range, collection, ECV, agency and free text."""
    start = end = None
    if datetime_:
        parts = datetime_.split("/")
        if len(parts) == 1:
            start = end = _parse_when(parts[0], "--datetime")
        elif len(parts) == 2:
            start, end = _parse_when(parts[0], "--datetime"), _parse_when(parts[1], "--datetime")
        else:
            raise InputError("--datetime: expected START/END")
    if limit < 1:
        raise InputError("--limit: must be at least 1")
    query = SearchQuery(
        bbox=_parse_bbox(bbox),
        start=start,
        end=end,
        collections=tuple(collection) if collection else None,
        ecv=ecv,
        agency=agency,
        q=q,
        limit=limit,
    )
    cat = _catalog()
    try:
        result = cat.search(query)
    finally:
        cat.close()
    if as_json:
        payload = {
            "type": "FeatureCollection",
            "features": result.features,
            "numberMatched": result.matched,
            "numberReturned": len(result.features),
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title=f"{result.matched} item(s) matched, {len(result.features)} shown")
    for header in ("collection", "item", "time"):
        table.add_column(header, overflow="fold")
    for item in result.features:
        p = item["properties"]
        when = p.get("datetime") or f"{p.get('start_datetime')} .. {p.get('end_datetime')}"
        table.add_row(item["collection"], item["id"], str(when))
    out.print(table)


@app.command()
@guarded
def verify() -> None:
    """Re-hash every cube against its recorded checksums and report any mismatch.

    A symbolic link anywhere in the store (cubes, collection folders, staging) is a problem
    too: the hub never writes one, and reading through it would leave the store.
    """
    from spaceclimate.store import open_store

    settings = get_settings()
    cat = _catalog()
    store = open_store(settings)
    problems: list[str] = []
    checked = 0
    try:
        for col in cat.list_collections():
            for version in cat.versions(col["id"]):
                if not version.cube_href:  # a catalog-only collection: no cube to check
                    continue
                problems.extend(store.verify(version.cube_href, version.cube_checksums))
                checked += 1
    finally:
        cat.close()
    problems.extend(p for p in store.symlinks() if p not in problems)
    for p in problems:
        err.print(f"mismatch: {p}", highlight=False)
    if problems:
        err.print(f"[bold red]error:[/] {len(problems)} problem(s) in {checked} cube(s)")
        raise typer.Exit(4)
    out.print(f"ok: {checked} cube version(s) match their checksums")


@app.command()
@guarded
def demo(
    samples: Annotated[
        Path | None, typer.Option(help="Folder of sample files (default: bundled samples).")
    ] = None,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve afterwards.")] = True,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Ingest the bundled real samples into SCO_HOME, print the catalog, then serve."""
    folder = samples or Path(os.environ.get("SCO_SAMPLES", REPO_SAMPLES))
    if not folder.is_dir():
        raise InputError(f"{folder}: sample folder not found; pass --samples")
    results = _ingest([folder], None, quiet=False)
    published = sum(r.status == "published" for r in results)
    out.print(f"{published} collection(s) published, {len(results) - published} unchanged")
    catalog_list(as_json=False)
    if serve:
        serve_hub(host=host, port=port, workers=1, log_level="info")


@app.command("serve")
@guarded
def serve_hub(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (stateless).")] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Serve the hub: STAC API, OGC API EDR, tiles, Zarr over HTTP, downloads, portal."""
    import uvicorn

    from spaceclimate.ops.serving import server_options

    settings = get_settings()
    os.environ["SCO_HOME"] = str(settings.resolved_home)  # workers resolve the same hub
    options = server_options(settings, log_level)  # shared metrics folder, log format
    out.print(f"serving {settings.resolved_home} at http://{host}:{port}/ (docs: /docs)")
    uvicorn.run(
        "spaceclimate.api.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        **options,
    )


def _jobs() -> Any:
    from spaceclimate.jobs import JobStore

    return JobStore(get_settings().resolved_catalog_url)


@jobs_app.command("list")
@guarded
def jobs_list(
    status: Annotated[str | None, typer.Option(help="accepted, running, successful, ...")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List jobs, newest first."""
    store = _jobs()
    try:
        found = store.list_jobs(status=status, limit=limit)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([j.__dict__ for j in found], indent=2, default=str))
        return
    table = Table(title=f"{len(found)} job(s)")
    table.add_column("job", no_wrap=True)
    for header in ("process", "status", "progress", "created", "message"):
        table.add_column(header, overflow="fold")
    for j in found:
        table.add_row(j.id, j.process_id, j.status, f"{j.progress}%", j.created[:19], j.message)
    out.print(table)


@jobs_app.command("show")
@guarded
def jobs_show(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Show one job: status, progress, inputs and results (JSON)."""
    store = _jobs()
    try:
        job = store.get(job_id)
    finally:
        store.close()
    typer.echo(json.dumps(job.__dict__, indent=2, default=str))


@jobs_app.command("cancel")
@guarded
def jobs_cancel(job_id: Annotated[str, typer.Argument(help="Job id.")]) -> None:
    """Dismiss a queued job, or ask a running one to stop."""
    store = _jobs()
    try:
        job = store.dismiss(job_id)
    finally:
        store.close()
    out.print(f"{job.id}: {job.status} ({job.message})")


@jobs_app.command("work")
@guarded
def jobs_work(
    threads: Annotated[int, typer.Option(help="Jobs run at once.")] = 1,
) -> None:
    """Run queued jobs on this machine until interrupted (a worker beside the API)."""
    import time

    from spaceclimate.jobs.runner import JobRunner
    from spaceclimate.processes import execute_job
    from spaceclimate.store import open_store

    settings = get_settings()
    if settings.log_format == "json":  # the same structured logs as the API workers
        import logging.config

        from spaceclimate.ops.logs import log_config

        logging.config.dictConfig(log_config("info"))
    store, cat = _jobs(), _catalog()
    runner = JobRunner(store, settings, cat, open_store(settings), execute_job, threads)
    runner.start()
    out.print(f"running jobs of {settings.resolved_home} ({threads} thread(s)); Ctrl-C stops")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        runner.stop()
    finally:
        store.close()
        cat.close()


app.add_typer(access_cli.keys_app, name="keys")
access_cli.keys_app.command("create")(guarded(access_cli.keys_create))
access_cli.keys_app.command("list")(guarded(access_cli.keys_list))
access_cli.keys_app.command("revoke")(guarded(access_cli.keys_revoke))
app.command("audit")(guarded(access_cli.audit))

app.add_typer(territory_cli.territory_app, name="territory")
for _name in ("add", "list", "show", "delete", "upload", "matchup"):
    territory_cli.territory_app.command(_name)(
        guarded(getattr(territory_cli, f"territory_{_name}"))
    )
app.add_typer(territory_cli.indicator_app, name="indicator")
for _name in ("list", "export", "import"):
    territory_cli.indicator_app.command(_name)(
        guarded(getattr(territory_cli, f"indicator_{_name}"))
    )


app.command("dossier")(guarded(dossier_command))

app.add_typer(peers_cli.peers_app, name="peers")
for _name in ("add", "list", "remove", "sync"):
    peers_cli.peers_app.command(_name)(guarded(getattr(peers_cli, f"peers_{_name}")))


@app.command()
def version() -> None:
    """Print the software version."""
    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry
    """Run the CLI."""
    app()
