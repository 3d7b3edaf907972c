"""A place's dossier as a report a person can print, save or send: HTML or PDF.

Both are drawn from the dossier's JSON (:func:`spaceclimate.services.dossier.build_dossier`),
so they say exactly what the API answers. The HTML page is one file: its plots are inline
SVG and its style is in the page, so it opens offline and prints as it shows. The PDF is
drawn with matplotlib alone: a page of summary, then a page a collection.

Each plot shows a variable's record at the place and, where the dossier has a trend, its
line: the fitted slope drawn through the record's mean (the fit itself is of the anomalies
when the collection has a monthly climatology, see :mod:`spaceclimate.compute.dossier`).
"""

from __future__ import annotations

import html
import io
import re
import textwrap
from collections.abc import Iterator
from typing import Any

import numpy as np

#: Width and height of a plot, inches.
PLOT_SIZE = (7.0, 2.4)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin: 1.6em 0 0.3em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin: 1em 0 0.2em; }
table { border-collapse: collapse; margin: 0.4em 0; }
th, td { border: 1px solid #ccc; padding: 0.15em 0.5em; text-align: left; font-size: 0.9em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.meta, .note { color: #555; font-size: 0.9em; }
section { break-inside: avoid; }
svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
"""


def fmt(value: Any, digits: int = 4) -> str:
    """Format a number for people (``4`` significant digits), ``–`` for missing."""
    if value is None:
        return "–"
    number = float(value)
    if not np.isfinite(number):
        return "–"
    return f"{number:.{digits}g}"


def place_label(dossier: dict[str, Any]) -> str:
    """Return ``lon 30 W, lat 45 N`` for a point, ``an area (...)`` for a polygon."""
    place = dossier["place"]
    if place["type"] == "Point":
        lon, lat = place["coordinates"][:2]
        ew = "E" if lon >= 0 else "W"
        ns = "N" if lat >= 0 else "S"
        return f"{abs(lon):g}° {ew}, {abs(lat):g}° {ns}"
    return f"a {place['type'].lower()} (area-weighted means)"


def trend_text(trend: dict[str, Any] | None) -> str:
    """``0.22 ± 0.37 K / (10 year) (95 % CI -0.5..0.95, N = 128)``, or ``–``."""
    if not trend:
        return "–"
    return (
        f"{fmt(trend['slope'], 3)} ± {fmt(trend['stderr'], 2)} {trend['units']} "
        f"({100 * trend['confidence']:g} % interval {fmt(trend['ci_lower'], 3)} to "
        f"{fmt(trend['ci_upper'], 3)}; N = {trend['n']}, effective {fmt(trend['n_eff'], 3)}; "
        f"of the {trend['of']})"
    )


def _decimal_years(times: list[str]) -> np.ndarray:
    stamps = np.array([np.datetime64(t.rstrip("Z")) for t in times], dtype="datetime64[s]")
    days = (stamps - np.datetime64("1970-01-01T00:00:00")) / np.timedelta64(1, "D")
    return 1970.0 + np.asarray(days, dtype="float64") / 365.2425


def _series(variable: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the record's ``(times, values)``, None for a static field or a single value."""
    record = variable["record"]
    values = np.array([np.nan if v is None else v for v in record["value"]], dtype="float64")
    if record["time"][0] is None or np.isfinite(values).sum() < 2:
        return None
    times = np.array([np.datetime64(t.rstrip("Z")) for t in record["time"]], "datetime64[s]")
    return times, values


def draw(ax: Any, variable: dict[str, Any], title: str, small: bool = False) -> bool:
    """Draw the variable's record and trend line on matplotlib axes; False without a series."""
    series = _series(variable)
    if series is None:
        return False
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # deferred: reports only

    times, values = series
    size = 7 if small else 9
    valid = np.isfinite(values)
    marker = "o" if valid.sum() <= 60 else None
    ax.plot(times[valid], values[valid], lw=1.0, marker=marker, ms=3, color="#1f5fa0")
    trend = variable.get("trend")
    if trend and trend.get("slope") is not None:
        years = _decimal_years(variable["record"]["time"])[valid]
        middle = float(np.mean(values[valid]))
        line = middle + trend["slope"] / 10.0 * (years - trend["time_mean"])
        label = f"trend {fmt(trend['slope'], 3)} ± {fmt(trend['stderr'], 2)} {trend['units']}"
        ax.plot(times[valid], line, color="#c0392b", lw=1.4, label=label)
        ax.legend(loc="best", fontsize=size - 1, frameon=False)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_ylabel(f"{variable['name']} ({variable['units']})", fontsize=size)
    ax.set_title(title, fontsize=size, loc="left")
    ax.tick_params(labelsize=size - 1)
    ax.grid(alpha=0.3)
    return True


def plot_svg(variable: dict[str, Any], title: str) -> str | None:
    """Return the variable's plot as an inline ``<svg>`` element, None without a series."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    fig = Figure(figsize=PLOT_SIZE, layout="constrained")
    if not draw(fig.add_subplot(), variable, title):
        return None

    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "sco-dossier"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    return text[text.index("<svg") :]  # the element only: no XML declaration nor DOCTYPE


def _row(cells: list[str], numeric: tuple[int, ...] = ()) -> str:
    return (
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if k in numeric else f"<td>{c}</td>"
            for k, c in enumerate(cells)
        )
        + "</tr>"
    )


def _summary_rows(dossier: dict[str, Any]) -> Iterator[str]:
    for entry in dossier["collections"]:
        for var in entry["variables"]:
            record, anomaly = var["record"], var["anomaly"]
            last = record["last"] or "static"
            latest = next((v for v in reversed(record["value"]) if v is not None), None)
            yield _row(
                [
                    f'<a href="#{html.escape(entry["id"])}">{html.escape(entry["id"])}</a>',
                    html.escape(var["name"]),
                    html.escape(var["units"]),
                    fmt(latest),
                    html.escape(last[:10]),
                    fmt(anomaly["value"], 3) if anomaly else "–",
                    html.escape(trend_text(var["trend"])) if var["trend"] else "–",
                ],
                numeric=(3, 5),
            )


def _climatology_table(clim: dict[str, Any]) -> str:
    if clim["period"] != "month":
        return (
            f'<p class="meta">Climatology (mean of the record, {clim["count"]} values): '
            f"{fmt(clim['value'])} {html.escape(clim['units'])}</p>"
        )
    head = "".join(f"<th>{m}</th>" for m in MONTHS)
    values = "".join(f'<td class="n">{fmt(v)}</td>' for v in clim["value"])
    counts = "".join(f'<td class="n">{c}</td>' for c in clim["count"])
    bounds = " to ".join(b[:10] for b in clim["bounds"])
    return (
        f'<p class="meta">Monthly climatology ({html.escape(clim["units"])}), {bounds}:</p>'
        f"<table><tr><th></th>{head}</tr><tr><th>mean</th>{values}</tr>"
        f"<tr><th>N</th>{counts}</tr></table>"
    )


def _variable_html(entry: dict[str, Any], var: dict[str, Any]) -> str:
    record = var["record"]
    parts = [f"<h3>{html.escape(var['long_name'])} ({html.escape(var['name'])})</h3>"]
    span = (
        f"{record['valid_steps']} valid of {record['steps']} steps, "
        f"{(record['first'] or '')[:10]} to {(record['last'] or '')[:10]}"
        if record["first"]
        else "a static field"
    )
    parts.append(f'<p class="meta">{html.escape(span)}; units {html.escape(var["units"])}</p>')
    svg = plot_svg(var, f"{entry['id']}: {var['name']}")
    if svg:
        parts.append(svg)
    else:
        value = next((v for v in record["value"] if v is not None), None)
        parts.append(f"<p>Value: <b>{fmt(value)}</b> {html.escape(var['units'])}</p>")
    if var["climatology"]:
        parts.append(_climatology_table(var["climatology"]))
    anomaly = var["anomaly"]
    if anomaly:
        parts.append(
            f"<p>Latest anomaly ({anomaly['time'][:10]}): <b>{fmt(anomaly['value'], 3)}</b> "
            f"{html.escape(anomaly['units'])} (observed {fmt(anomaly['observed'])}, "
            f"climatology {fmt(anomaly['climatology'])})</p>"
        )
    if var["trend"]:
        parts.append(f"<p>Trend: <b>{html.escape(trend_text(var['trend']))}</b></p>")
    if var["notes"]:
        notes = "; ".join(f"{what}: {why}" for what, why in var["notes"].items())
        parts.append(f'<p class="note">Not made here: {html.escape(notes)}.</p>')
    return "\n".join(parts)


def _where(entry: dict[str, Any]) -> str:
    if "cell" in entry:
        cell = entry["cell"]
        text = f"cell centred at lon {fmt(cell.get('lon'), 6)}, lat {fmt(cell.get('lat'), 6)}"
        if "x" in cell:
            text += f" (x {fmt(cell['x'], 8)} m, y {fmt(cell['y'], 8)} m)"
        return text
    area = entry["area"]
    return f"{area['cells_in_area']} cells in the area, {area['valid_cells']} with data"


def _collection_html(entry: dict[str, Any]) -> str:
    licence = entry["license"]
    licence_text = html.escape(str(licence.get("title") or licence.get("id") or "see source"))
    if licence.get("href"):
        licence_text += f" ({html.escape(str(licence['href']))})"
    doi = f"; DOI {html.escape(entry['doi'])}" if entry.get("doi") else ""
    citation = str(entry.get("citation") or "–").rstrip(".")
    parts = [
        f'<section id="{html.escape(entry["id"])}">',
        f"<h2>{html.escape(entry['title'])}</h2>",
        f'<p class="meta">{html.escape(entry["id"])} · ECV {html.escape(str(entry["ecv"]))} · '
        f"{html.escape(_where(entry))}</p>",
        *(_variable_html(entry, var) for var in entry["variables"]),
        f'<p class="meta">Citation: {html.escape(citation)}{doi}. Licence: {licence_text}.</p>',
        "</section>",
    ]
    return "\n".join(parts)


def to_html(dossier: dict[str, Any], generated: str = "") -> str:
    """Return the dossier as one self-contained HTML page (inline SVG plots, inline style)."""
    label = place_label(dossier)
    summary = "\n".join(_summary_rows(dossier))
    missing = "\n".join(
        f"<li><b>{html.escape(m['id'])}</b>: {html.escape(str(m['reason']))}</li>"
        for m in dossier["no_data"]
    )
    method = "\n".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in dossier["method"].items()
    )
    stamp = f" · made {html.escape(generated)}" if generated else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dossier: {html.escape(label)}</title>
<style>{STYLE}</style></head>
<body>
<h1>Dossier of {html.escape(label)}</h1>
<p class="meta">{dossier["considered"]} collections considered, {dossier["with_data"]} with
data here{stamp}</p>
<table><tr><th>Collection</th><th>Variable</th><th>Units</th><th>Latest</th><th>On</th>
<th>Anomaly</th><th>Trend per decade</th></tr>
{summary}
</table>
{"".join(_collection_html(e) for e in dossier["collections"])}
<h2>No data here</h2>
<ul>
{missing}
</ul>
<h2>Method</h2>
<ul>
{method}
</ul>
</body></html>
"""


def variable_lines(var: dict[str, Any]) -> list[str]:
    """Return what the dossier says of a variable as lines of plain text."""
    record = var["record"]
    latest = next((v for v in reversed(record["value"]) if v is not None), None)
    when = f"{(record['first'] or '')[:10]} to {(record['last'] or '')[:10]}"
    lines = [
        f"{var['long_name']} ({var['name']}, {var['units']}): latest {fmt(latest)}; "
        + (
            f"{record['valid_steps']} valid of {record['steps']} steps, {when}"
            if record["first"]
            else "a static field"
        )
    ]
    clim = var["climatology"]
    if clim and clim["period"] == "month":
        means = ", ".join(f"{m} {fmt(v)}" for m, v in zip(MONTHS, clim["value"], strict=True))
        lines.append(f"  Monthly climatology: {means}")
    elif clim:
        lines.append(f"  Climatology (mean of the record): {fmt(clim['value'])}")
    anomaly = var["anomaly"]
    if anomaly:
        lines.append(
            f"  Latest anomaly ({anomaly['time'][:10]}): {fmt(anomaly['value'], 3)} "
            f"{anomaly['units']}"
        )
    if var["trend"]:
        lines.append(f"  Trend: {trend_text(var['trend'])}")
    lines += [f"  No {what}: {why}." for what, why in var["notes"].items()]
    return lines


def _page_text(fig: Any, lines: list[str], top: float) -> None:
    """Write wrapped lines of text down a PDF page (what does not fit is left out)."""
    y = top
    for line in lines:
        for part in textwrap.wrap(line, 115, subsequent_indent="    ") or [""]:
            if y < 0.03:
                return
            fig.text(0.06, y, part, fontsize=7.5, va="top")
            y -= 0.016


def to_pdf(dossier: dict[str, Any], generated: str = "") -> bytes:
    """Return the dossier as a PDF: a summary page, then a page a collection (two plots)."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    a4 = (8.27, 11.69)
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": f"Dossier of {place_label(dossier)}"}) as pdf:
        fig = Figure(figsize=a4)
        fig.text(0.06, 0.97, f"Dossier of {place_label(dossier)}", fontsize=14, va="top")
        lines = [
            f"{dossier['considered']} collections considered, {dossier['with_data']} with data "
            f"here. {generated}".strip(),
            "",
        ]
        for entry in dossier["collections"]:
            lines += [f"{entry['id']}:"] + variable_lines(entry["variables"][0])[:1]
        lines += ["", "No data here:"]
        lines += [f"  {m['id']}: {m['reason']}" for m in dossier["no_data"]]
        lines += ["", "Method:"] + [f"  {k}: {v}" for k, v in dossier["method"].items()]
        _page_text(fig, lines, top=0.93)
        pdf.savefig(fig)
        for entry in dossier["collections"]:
            fig = Figure(figsize=a4)
            fig.text(0.06, 0.97, entry["title"], fontsize=10, va="top")
            where = f"{entry['id']} · ECV {entry['ecv']} · {_where(entry)}"
            fig.text(0.06, 0.945, where, fontsize=7.5, va="top")
            plots = 0
            for var in entry["variables"]:
                if plots < 2 and _series(var) is not None:
                    ax = fig.add_axes((0.1, 0.66 - 0.26 * plots, 0.84, 0.2))
                    plots += draw(ax, var, f"{entry['id']}: {var['name']}", small=True)
            text: list[str] = []
            for var in entry["variables"]:
                text += variable_lines(var)
            licence = entry["license"]
            text += [
                "",
                f"Citation: {entry.get('citation') or '–'}"
                + (f" DOI {entry['doi']}" if entry.get("doi") else ""),
                f"Licence: {licence.get('title') or licence.get('id')} {licence.get('href', '')}",
            ]
            _page_text(fig, text, top=0.88 - 0.26 * plots)
            pdf.savefig(fig)
    return buffer.getvalue()
