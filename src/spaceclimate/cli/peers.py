"""``sco peers``: add, list, remove and sync the peers whose collections this hub pools.

The commands are registered (and their errors turned into one-line messages) by
:mod:`spaceclimate.cli.main`. Running them on the hub's machine is an admin's act, as the
API's ``/federation/peers`` routes need an admin key.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from spaceclimate.access import Actor, AuditEntry
from spaceclimate.access.audit import AuditLog
from spaceclimate.config import get_settings
from spaceclimate.errors import IntegrityError, SCOError
from spaceclimate.peers import PeerRegistry, add_peer, open_registry, sync_peer

peers_app = typer.Typer(
    help="Peers: other hubs, STAC APIs and static catalogs whose collections this hub pools.",
    no_args_is_help=True,
)
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def _audit(registry: PeerRegistry, action: str, detail: dict[str, object]) -> None:
    AuditLog(registry.engine).record(AuditEntry(action, Actor.command_line(), detail=detail))


def peers_add(
    url: Annotated[str, typer.Argument(help="The peer's URL (a hub, STAC API or catalog.json).")],
    name: Annotated[
        str | None, typer.Option(help="Its namespace here (default: from the URL's host).")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="mirror (copy and check its data) or reference (records only).")
    ] = "mirror",
    kind: Annotated[
        str | None, typer.Option(help="hub, stac-api or static (default: asked of the peer).")
    ] = None,
) -> None:
    """Add a peer."""
    registry = open_registry(get_settings())
    try:
        peer = add_peer(registry, url, name=name, mode=mode, kind=kind)
        _audit(registry, "peer.add", peer.as_dict())
    finally:
        registry.engine.dispose()
    out.print(f"added peer {peer.name} ({peer.kind}, {peer.mode}) at {peer.shown_url}")


def peers_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the peers (URLs without credentials)."""
    registry = open_registry(get_settings())
    try:
        peers = registry.list_peers()
    finally:
        registry.engine.dispose()
    if as_json:
        typer.echo(json.dumps([p.as_dict() for p in peers], indent=2))
        return
    table = Table(title=f"{len(peers)} peer(s)")
    for header in ("name", "kind", "mode", "url", "synced", "last sync"):
        table.add_column(header, overflow="fold")
    for p in peers:
        outcomes = p.status.get("collections", [])
        summary = ", ".join(
            f"{n} {s}"
            for s in ("published", "unchanged", "withdrawn", "refused", "failed")
            if (n := sum(1 for o in outcomes if o.get("status") == s))
        )
        table.add_row(p.name, p.kind, p.mode, p.shown_url, p.synced or "never", summary)
    out.print(table)


def peers_remove(name: Annotated[str, typer.Argument(help="The peer's name.")]) -> None:
    """Forget a peer (the collections pooled from it stay, with their origin)."""
    registry = open_registry(get_settings())
    try:
        peer = registry.remove(name)
        _audit(registry, "peer.remove", peer.as_dict())
    finally:
        registry.engine.dispose()
    out.print(f"removed peer {name}")


def peers_sync(
    name: Annotated[str | None, typer.Argument(help="The peer (default: every peer).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Sync peers: new origin versions become new local versions, withdrawn ones are marked."""
    settings = get_settings()
    registry = open_registry(settings)

    def progress(message: str, done: int, total: int) -> None:
        if not quiet:
            err.print(f"[{done}/{total}] {message}", highlight=False)

    reports = []
    try:
        names = [name] if name else [p.name for p in registry.list_peers()]
        for peer_name in names:
            try:
                report = sync_peer(settings, registry, peer_name, progress)
            except SCOError as exc:
                err.print(f"[bold red]error:[/] peer {peer_name}: {exc.message}", highlight=False)
                if name:
                    raise
                continue
            _audit(registry, "peer.sync", report.as_dict())
            reports.append(report)
    finally:
        registry.engine.dispose()
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        for report in reports:
            for o in report.outcomes:
                line = f"{report.peer}: {o.collection} {o.status}"
                line += f" (local v{o.version}, origin {o.origin_version})" if o.version else ""
                out.print(line + (f": {o.message}" if o.message else ""), highlight=False)
    if not all(r.ok for r in reports):
        raise typer.Exit(IntegrityError.exit_code)
