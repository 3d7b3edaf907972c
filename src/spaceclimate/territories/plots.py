"""Pictures of a match-up: the scatter of pairs and the two series in time (PNG)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from spaceclimate.territories.matchup import MatchUp

PLOTS = ("scatter", "series")


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.6), dpi=110)
    return fig, ax


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _summary(m: MatchUp) -> str:
    s = m.statistics
    parts = [f"N = {s.get('n', 0)}"]
    for key, label in (("bias", "bias"), ("rmsd", "RMSD"), ("correlation", "r")):
        if s.get(key) is not None:
            parts.append(f"{label} = {s[key]:.3g}")
    return ", ".join(parts)


def _short(label: str, limit: int = 48) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def scatter_png(m: MatchUp) -> bytes:
    """Product against local values, with the 1:1 line and the least-squares line."""
    fig, ax = _figure()
    x = m.pairs["local"].to_numpy("float64")
    y = m.pairs["product"].to_numpy("float64")
    ax.scatter(x, y, s=14, alpha=0.75, color="#1f6f9f", label="pairs")
    if x.size:
        low = float(min(x.min(), y.min()))
        high = float(max(x.max(), y.max()))
        ax.plot([low, high], [low, high], color="#888", lw=1, ls="--", label="1:1")
        slope = m.statistics.get("slope")
        if slope is not None:
            line = np.array([low, high])
            ax.plot(
                line,
                m.statistics["intercept"] + slope * line,
                color="#c0392b",
                lw=1.4,
                label=f"fit: slope {slope:.3g}",
            )
    units = m.product.units
    ax.set_xlabel(f"{_short(m.local.label)} ({units})")
    ax.set_ylabel(f"{_short(m.product.label)} ({units})")
    ax.set_title(_summary(m), fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def series_png(m: MatchUp) -> bytes:
    """Both sides of every pair in time (a step without a pair stays a gap)."""
    fig, ax = _figure()
    for station, rows in m.pairs.groupby("station", sort=False):
        times = rows["time_start"].to_numpy()
        ax.plot(times, rows["local"], marker="o", ms=3, lw=1, label=f"local {station}")
        ax.plot(
            times,
            rows["product"],
            marker="s",
            ms=3,
            lw=1,
            label=f"{m.product.extra.get('collection', 'product')} at {station}",
        )
    ax.set_ylabel(m.product.units)
    ax.set_title(_summary(m), fontsize=10)
    ax.legend(fontsize=7)
    return _png(fig)
