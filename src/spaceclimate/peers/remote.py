"""Reaching a peer: JSON documents and files over HTTP, through the hub's guarded client.

Every request to a peer goes through :class:`spaceclimate.net.Fetcher` with a policy made
for that peer: only URLs under the peer's own origin (same scheme, host and port, redirects
included), its host admitted even when it is not public (an admin named it), a deadline per
request. A peer's documents may name other hosts (an asset elsewhere); the hub does not
fetch them. Failures name the peer's URL without credentials.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

from spaceclimate.errors import FetchError, InputError
from spaceclimate.net import AllowList, Fetcher, FetchPolicy, redact

#: Largest JSON document read from a peer.
MAX_DOCUMENT_BYTES = 64 * 2**20
#: Largest file of a cube read from a peer.
MAX_FILE_BYTES = 4 * 2**30


def origin_of(url: str) -> str:
    """Return ``scheme://host[:port]`` of a URL (no credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}"


class HashingWriter:
    """A file-like object that writes to *out* and hashes what passes (sha256)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> int:
        """Write and hash *data*."""
        self.sha.update(data)
        return self.out.write(data)

    def hexdigest(self) -> str:
        """The sha256 of everything written."""
        return self.sha.hexdigest()


class PeerClient:
    """Requests to one peer, under a policy admitting only its origin.

    Parameters
    ----------
    url
        The peer's URL as the admin gave it (credentials, if any, go to the peer only).
    timeout
        Seconds one request may take in all.
    idle_timeout
        Seconds a request may wait for a connection or the next byte.
    deadline
        ``time.monotonic()`` by which every request must have ended (a federated search's).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 120.0,
        idle_timeout: float = 30.0,
        deadline: float = math.inf,
    ) -> None:
        self.url = url
        self.base = url if not url.endswith(".json") else url.rsplit("/", 1)[0]
        self.shown = redact(url)
        self.deadline = deadline
        host = (urlsplit(url).hostname or "").lower()
        self.policy = FetchPolicy(
            prefixes=(origin_of(url) + "/",),
            allowed=AllowList(hosts=frozenset({host})),
            max_redirects=3,
            timeout=timeout,
            idle_timeout=idle_timeout,
        )

    def href(self, path: str) -> str:
        """Return the URL of *path* (absolute, or relative to the peer's base)."""
        if "://" in path:
            return path
        return f"{self.base}/{path.lstrip('/')}"

    def download(self, url: str, out: BinaryIO, max_bytes: int = MAX_FILE_BYTES) -> int:
        """Write the body of *url* to *out*; return its size (FetchError when not fetched)."""
        if origin_of(url) != origin_of(self.url):
            raise FetchError(f"{redact(url)}: not at peer {self.shown}; not fetched")
        fetcher = Fetcher(self.policy, max_bytes=max_bytes, deadline=self.deadline)
        return fetcher.download(url, out)

    def get_json(self, path: str) -> Any:
        """Return the JSON document at *path* (FetchError or InputError when unusable)."""
        url = self.href(path)
        buffer = io.BytesIO()
        self.download(url, buffer, MAX_DOCUMENT_BYTES)
        try:
            return json.loads(buffer.getvalue())
        except ValueError:
            raise InputError(f"{redact(url)}: not a JSON document") from None

    def resolve(self, document_url: str, href: str) -> str:
        """Return *href* (as found in the document at *document_url*) as an absolute URL."""
        return urljoin(document_url, href)

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        return self.deadline - time.monotonic()


def detect_kind(client: PeerClient) -> str:
    """Say what a peer is: ``hub`` (a spaceclimate hub), ``stac-api`` or ``static``.

    A hub answers ``/federation`` with its manifest; a STAC API's landing page (the URL, or
    ``/stac`` below it) declares conformance classes; a static catalog is a Catalog or
    Collection document without them.
    """
    if not client.url.endswith(".json"):
        try:
            doc = client.get_json("federation")
            if isinstance(doc, dict) and doc.get("type") == "spaceclimate-federation":
                return "hub"
        except (FetchError, InputError):
            pass
    doc = client.get_json(client.url)
    if isinstance(doc, dict) and doc.get("conformsTo"):
        return "stac-api"
    if isinstance(doc, dict) and doc.get("type") in ("Catalog", "Collection"):
        return "static"
    raise InputError(f"peer URL {client.shown!r}: neither a hub, a STAC API nor a STAC catalog")
