"""What a hub holds, counted apart by kind: satellite records, in situ and reanalysis references."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Kinds of record, in the order people read them (collections without one are satellite).
KINDS = ("satellite", "in-situ", "reanalysis")


def holdings(collections: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Count the collections, ECVs and agencies of each kind of record.

    Derived collections (analysis results) are left out: they hold no record of their own.
    """
    out: dict[str, dict[str, Any]] = {}
    for doc in collections:
        if doc.get("sco:derived"):
            continue
        kind = str(doc.get("sco:kind") or "satellite")
        entry = out.setdefault(kind, {"collections": 0, "ecvs": set(), "agencies": set()})
        entry["collections"] += 1
        if doc.get("sco:ecv"):
            entry["ecvs"].add(str(doc["sco:ecv"]))
        entry["agencies"].update(str(a) for a in doc.get("sco:agencies") or [])
    order = {k: i for i, k in enumerate(KINDS)}
    return {
        kind: {
            "collections": entry["collections"],
            "ecvs": sorted(entry["ecvs"]),
            "agencies": sorted(entry["agencies"]),
        }
        for kind, entry in sorted(out.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
    }
