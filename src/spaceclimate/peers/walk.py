"""Reading the collections and items a STAC API or a static STAC catalog publishes.

Both give :class:`Harvested` records: a collection document as found, its items with every
href made absolute, and the URL it was read at. A static catalog is walked from its root
(``catalog.json``) along ``child`` and ``item`` links; a STAC API is read through
``/collections`` and each collection's ``/items``, page by page. Only documents at the
peer's own origin are read (:class:`~spaceclimate.peers.remote.PeerClient`); limits bound
how much one sync reads.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from spaceclimate.errors import InputError
from spaceclimate.peers.remote import PeerClient, origin_of

#: Most documents one walk of a static catalog reads.
MAX_DOCUMENTS = 5000
#: Most items read of one collection.
MAX_ITEMS = 10_000
#: Page size asked of a STAC API.
PAGE = 500


@dataclass
class Harvested:
    """One collection of a peer as read: its document, its items and where it was read."""

    collection: dict[str, Any]
    items: list[dict[str, Any]]
    url: str

    @property
    def origin_id(self) -> str:
        """The collection's id at its origin."""
        return str(self.collection["id"])

    def fingerprint(self) -> str:
        """A sha256 over the documents as read: a new one means a new origin version."""
        h = hashlib.sha256()
        h.update(json.dumps(self.collection, sort_keys=True, default=str).encode())
        for item in sorted(self.items, key=lambda i: str(i.get("id"))):
            h.update(json.dumps(item, sort_keys=True, default=str).encode())
        return h.hexdigest()


def absolute(doc: dict[str, Any], url: str) -> dict[str, Any]:
    """Return *doc* with the hrefs of its links and assets made absolute against *url*."""
    out = copy.deepcopy(doc)
    for lk in out.get("links", []):
        if isinstance(lk, dict) and isinstance(lk.get("href"), str):
            lk["href"] = urljoin(url, lk["href"])
    for asset in (out.get("assets") or {}).values():
        if isinstance(asset, dict) and isinstance(asset.get("href"), str):
            asset["href"] = urljoin(url, asset["href"])
    return out


def _links(doc: dict[str, Any], rel: str) -> list[str]:
    return [
        str(lk["href"])
        for lk in doc.get("links", [])
        if isinstance(lk, dict) and lk.get("rel") == rel and isinstance(lk.get("href"), str)
    ]


def _check(doc: Any, url: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("type") not in kinds or not doc.get("id"):
        raise InputError(f"{url}: not a STAC {' or '.join(kinds)} document")
    return doc


def walk_static(client: PeerClient) -> Iterator[Harvested]:
    """Yield the collections of a static catalog (each with its items), depth first."""
    root = client.url if client.url.endswith(".json") else f"{client.url}/catalog.json"
    queue = [root]
    seen: set[str] = set()
    while queue:
        url = queue.pop(0)
        if url in seen or origin_of(url) != origin_of(client.url):
            continue
        seen.add(url)
        if len(seen) > MAX_DOCUMENTS:
            raise InputError(f"{client.shown}: more than {MAX_DOCUMENTS} documents")
        doc = absolute(_check(client.get_json(url), url, ("Catalog", "Collection")), url)
        queue.extend(_links(doc, "child"))
        if doc["type"] != "Collection":
            continue
        items = []
        for href in _links(doc, "item")[:MAX_ITEMS]:
            seen.add(href)
            item = _check(client.get_json(href), href, ("Feature",))
            items.append(absolute(item, href))
        yield Harvested(doc, items, url)


def _pages(client: PeerClient, url: str, key: str) -> Iterator[dict[str, Any]]:
    """Yield the members *key* of a paged STAC API answer, following ``next`` links."""
    count = 0
    seen: set[str] = set()
    next_url: str | None = url
    while next_url and next_url not in seen and count < MAX_ITEMS:
        seen.add(next_url)
        page = client.get_json(next_url)
        if not isinstance(page, dict) or not isinstance(page.get(key), list):
            raise InputError(f"{next_url}: no {key!r} list")
        for member in page[key]:
            if isinstance(member, dict):
                count += 1
                yield absolute(member, next_url)
        links = _links(page, "next")
        next_url = urljoin(next_url, links[0]) if links else None


def walk_api(client: PeerClient) -> Iterator[Harvested]:
    """Yield the collections of a STAC API (each with its items)."""
    root = client.url
    for collection in _pages(client, f"{root}/collections", "collections"):
        cid = str(collection.get("id", ""))
        if not cid:
            continue
        url = f"{root}/collections/{cid}"
        items = list(_pages(client, f"{url}/items?limit={PAGE}", "features"))
        yield Harvested(collection, items, url)
