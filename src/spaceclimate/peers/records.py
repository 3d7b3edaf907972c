"""A peer's STAC documents as this hub records them: namespaced, with their origin.

A pooled collection keeps the origin's document with these changes:

- its id is ``<peer>:<origin id>`` and its items name that collection;
- the links the origin's API made (self, root, items, tiles, ...) are dropped, since this
  hub's API makes its own, and a ``via`` link points at the origin's collection;
- ``sco:origin`` says where it comes from: the peer's name and URL (no credentials), the
  origin's id and version, its fingerprint, the mode, when it was synced, and when it was
  withdrawn at the origin (``withdrawn``; the collection is then also ``deprecated``).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from spaceclimate.catalog.stac import SERVED_LINK_RELS

#: Relation of the link from a pooled document to its origin.
ORIGIN_REL = "via"


def now_text() -> str:
    """The time now, ISO 8601 UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def origin_of(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Return the ``sco:origin`` of a collection document, or None for the hub's own."""
    origin = doc.get("sco:origin")
    return origin if isinstance(origin, dict) else None


def collection_url(base: str, origin_id: str) -> str:
    """Return the URL of a collection in a STAC API rooted at *base*."""
    return f"{base}/collections/{quote(origin_id, safe='')}"


def pooled_collection(
    doc: dict[str, Any],
    *,
    local_id: str,
    origin: dict[str, Any],
    origin_href: str,
    version: int,
) -> dict[str, Any]:
    """Return the local record of a peer's collection document (see the module)."""
    out = copy.deepcopy(doc)
    out["id"] = local_id
    out["links"] = _stored_links(out)
    out["links"].append(
        {
            "rel": ORIGIN_REL,
            "href": origin_href,
            "type": "application/json",
            "title": f"Origin: {origin['collection']} at peer {origin['peer']}",
        }
    )
    out["sco:origin"] = origin
    out["sco:version"] = version
    keywords = [k for k in out.get("keywords", []) if isinstance(k, str)]
    tag = f"peer:{origin['peer']}"
    if tag not in keywords:
        out["keywords"] = [*keywords, tag]
    if origin.get("withdrawn"):
        out["deprecated"] = True
    else:
        out.pop("deprecated", None)
    return out


def _stored_links(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The links of a peer's document that are its own: not its API's, not an origin link."""
    return [
        lk
        for lk in doc.get("links", [])
        if isinstance(lk, dict)
        and lk.get("rel") not in SERVED_LINK_RELS
        and lk.get("rel") != ORIGIN_REL
    ]


def pooled_item(
    item: dict[str, Any], *, local_id: str, version: int, catalog_only: bool, origin_href: str
) -> dict[str, Any]:
    """Return the local record of a peer's item (served form back to stored form)."""
    out = copy.deepcopy(item)
    out["collection"] = local_id
    props = out["properties"] = dict(out.get("properties") or {})
    props["sco:version"] = version
    if catalog_only:
        props["sco:catalog_only"] = True
    links = _stored_links(out)
    links.append({"rel": ORIGIN_REL, "href": origin_href, "type": "application/geo+json"})
    out["links"] = links
    assets = out.get("assets") or {}
    source = assets.get("source")
    if not catalog_only and isinstance(source, dict) and "sco:source_file" in source:
        # a hub serves its granules' source asset as a download of the cube, with the
        # original file's name and checksum inside: back to the stored form
        stored = {"href": source.get("href", "")}
        stored.update(source["sco:source_file"])
        assets["source"] = stored
    return out
