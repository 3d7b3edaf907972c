"""``sco keys`` (create, list, revoke API keys) and ``sco audit`` (who published what).

The commands are registered (and their errors turned into one-line messages) by
:mod:`spaceclimate.cli.main`.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from spaceclimate.access import Access, Actor, AuditEntry
from spaceclimate.config import get_settings

keys_app = typer.Typer(
    help="Create, list and revoke the API keys of publishers.", no_args_is_help=True
)
out = Console(width=None if sys.stdout.isatty() else 200)


def _access() -> Access:
    return Access(get_settings())


def keys_create(
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            "-s",
            help="admin, provider:<agency> (e.g. provider:ESA) or collection:<id>; repeatable.",
        ),
    ],
    name: Annotated[str, typer.Option(help="Who holds the key (shown in the audit log).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an API key; its token is printed once and never stored."""
    access = _access()
    try:
        key, token = access.keys.create(scope, name)
        access.audit.record(
            AuditEntry("key.create", Actor.command_line(), detail={"key": key.as_dict()})
        )
    finally:
        access.close()
    if as_json:
        typer.echo(json.dumps({**key.as_dict(), "token": token}, indent=2))
        return
    out.print(f"created {key.label()}", highlight=False)
    out.print("token (shown once, keep it secret; send it as 'Authorization: Bearer <token>'):")
    typer.echo(token)


def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List API keys (never their tokens)."""
    access = _access()
    try:
        keys = access.keys.list_keys()
    finally:
        access.close()
    if as_json:
        typer.echo(json.dumps([k.as_dict() for k in keys], indent=2))
        return
    table = Table(title=f"{len(keys)} key(s)")
    table.add_column("id", no_wrap=True)
    for header in ("name", "scopes", "created", "revoked"):
        table.add_column(header, overflow="fold")
    for k in keys:
        scopes = ", ".join(str(s) for s in k.scopes)
        table.add_row(k.id, k.name, scopes, k.created[:19], (k.revoked or "")[:19])
    out.print(table)


def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id (see sco keys list).")]) -> None:
    """Revoke a key: its token stops working at once, on every worker."""
    access = _access()
    try:
        key = access.keys.revoke(key_id)
        access.audit.record(
            AuditEntry("key.revoke", Actor.command_line(), detail={"key": key.as_dict()})
        )
    finally:
        access.close()
    out.print(f"revoked {key.label()} at {key.revoked}", highlight=False)


def audit(
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    key: Annotated[str | None, typer.Option(help="Only this key id.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action (item.create, ...).")] = None,
    job: Annotated[str | None, typer.Option(help="Only this job id.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the audit log: who (key) published what (collection, item, version, job), when."""
    access = _access()
    try:
        entries = access.audit.list_entries(collection, key, action, job, limit=max(1, limit))
    finally:
        access.close()
    if as_json:
        typer.echo(json.dumps(entries, indent=2, default=str))
        return
    table = Table(title=f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
    for header in ("time", "action", "key", "collection", "item", "version", "job", "client"):
        table.add_column(header, overflow="fold")
    for e in entries:
        who = f"{e['key_id'] or '-'} ({e['key_name']})" if e["key_name"] else e["key_id"] or "-"
        table.add_row(
            e["time"][:19],
            e["action"],
            who,
            e["collection_id"] or "",
            e["item_id"] or "",
            str(e["version"] or ""),
            (e["job_id"] or "")[:12],
            e["client"] or "",
        )
    out.print(table)
