"""``sco dossier``: a place's dossier from the hub in ``SCO_HOME``, as JSON, HTML or PDF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from spaceclimate.clock import now_iso
from spaceclimate.config import get_settings
from spaceclimate.errors import InputError
from spaceclimate.render.dossier import to_html, to_pdf
from spaceclimate.services.context import HubContext
from spaceclimate.services.dossier import build_dossier

FORMATS = ("json", "html", "pdf")


def dossier_command(
    lon: Annotated[float, typer.Option(help="Longitude in degrees, -180..180.")],
    lat: Annotated[float, typer.Option(help="Latitude in degrees, -90..90.")],
    format: Annotated[str, typer.Option("--format", "-f", help="json, html or pdf.")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Every pooled collection's record at a point: climatology, latest anomaly, trend."""
    kind = format.strip().lower()
    if kind not in FORMATS:
        raise InputError(f"--format: unknown format {format!r}; use json, html or pdf")
    if kind == "pdf" and output is None:
        raise InputError("--format pdf: give a file with -o (a PDF is not printed)")
    ctx = HubContext(get_settings())
    try:
        body = build_dossier(ctx, (lon, lat))
    finally:
        ctx.close()
    body["generated"] = now_iso()
    made = f"{body['generated'][:19]}Z by sco dossier"
    if kind == "pdf":
        assert output is not None
        output.write_bytes(to_pdf(body, made))
        return
    text = json.dumps(body, indent=1) if kind == "json" else to_html(body, made)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
