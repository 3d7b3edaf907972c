"""The peers of this hub: their names, URLs, kinds and modes, kept in ``sco_peers``.

A peer's name is its namespace in the local catalog: its collection ``sst`` is pooled here
as ``<name>:sst``. Names are short lower-case words (``[a-z0-9][a-z0-9-]*``), so a
namespaced id is read back without ambiguity: the peer is what comes before the first
``:``. Collection ids made on this hub never hold a ``:`` (ingest recipes and STAC
transactions refuse it), so no local collection can pass for a peer's.

A peer's URL is checked when it is added: http or https, a host, no query or fragment. It
may carry credentials (``https://user:token@node.example.org``): they are kept to reach the
peer, and never shown (:func:`spaceclimate.net.redact` everywhere a URL is printed, served or
logged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, insert, select, update

from spaceclimate.db import schema
from spaceclimate.errors import ConflictError, InputError, NotFoundError
from spaceclimate.net import redact

#: How a peer is pooled: its data copied here (mirror) or read from it when asked (reference).
MODES = ("mirror", "reference")
#: What a peer is: another hub, a STAC API, or a static STAC catalog over HTTP.
KINDS = ("hub", "stac-api", "static")
#: Separator of a peer's name and its collection's id in the local catalog.
SEPARATOR = ":"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def check_name(name: str) -> str:
    """Return a peer name if usable (InputError naming the rule otherwise)."""
    if not NAME.match(name):
        raise InputError(
            f"peer name {name[:60]!r}: 1 to 40 lower-case letters, digits and '-', "
            "starting with a letter or digit"
        )
    return name


def check_url(url: str) -> str:
    """Return a peer URL without a trailing slash; InputError when it is not usable.

    The message never repeats credentials the URL may hold.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for an invalid port
    except ValueError:
        raise InputError(f"peer URL {redact(text)!r}: not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(f"peer URL {redact(text)!r}: must be an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise InputError(f"peer URL {redact(text)!r}: must have no query or fragment")
    return text.rstrip("/") if not text.endswith(".json") else text


def default_name(url: str) -> str:
    """Return a peer name made from a URL's host (``node-b.example.org`` → ``node-b``)."""
    host = (urlsplit(url).hostname or "peer").split(".")[0].lower()
    name = re.sub(r"[^a-z0-9-]+", "-", host).strip("-")[:40] or "peer"
    return name


def split_id(collection_id: str) -> tuple[str, str] | None:
    """Return ``(peer name, origin id)`` of a namespaced collection id, or None."""
    name, sep, rest = collection_id.partition(SEPARATOR)
    if not sep or not NAME.match(name) or not rest:
        return None
    return name, rest


def local_id(peer: str, origin_id: str) -> str:
    """Return the local id of a peer's collection."""
    return f"{peer}{SEPARATOR}{origin_id}"


@dataclass(frozen=True)
class Peer:
    """One peer of the hub."""

    name: str
    url: str  # as given: may hold credentials
    kind: str
    mode: str
    created: str
    synced: str | None = None
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def shown_url(self) -> str:
        """The URL without credentials, query or fragment: what people and logs see."""
        return redact(self.url)

    def as_dict(self) -> dict[str, Any]:
        """The peer as shown (never its credentials)."""
        return {
            "name": self.name,
            "url": self.shown_url,
            "kind": self.kind,
            "mode": self.mode,
            "created": self.created,
            "synced": self.synced,
            "status": self.status,
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PeerRegistry:
    """The ``sco_peers`` table of a hub's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def _peer(row: Any) -> Peer:
        return Peer(
            name=row.name,
            url=row.url,
            kind=row.kind,
            mode=row.mode,
            created=row.created,
            synced=row.synced,
            status=dict(row.status or {}),
        )

    def add(self, name: str, url: str, kind: str, mode: str) -> Peer:
        """Record a new peer; ConflictError when the name is taken."""
        check_name(name)
        if mode not in MODES:
            raise InputError(f"peer mode {mode!r}: expected one of {', '.join(MODES)}")
        if kind not in KINDS:
            raise InputError(f"peer kind {kind!r}: expected one of {', '.join(KINDS)}")
        peer = Peer(name, check_url(url), kind, mode, _now())
        with self.engine.begin() as conn:
            taken = conn.execute(select(schema.peers.c.name).where(schema.peers.c.name == name))
            if taken.first() is not None:
                raise ConflictError(f"peer {name!r} exists; remove it first or choose a name")
            conn.execute(
                insert(schema.peers).values(
                    name=peer.name,
                    url=peer.url,
                    kind=peer.kind,
                    mode=peer.mode,
                    created=peer.created,
                    status={},
                )
            )
        return peer

    def get(self, name: str) -> Peer:
        """Return a peer; NotFoundError naming the known ones."""
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.peers).where(schema.peers.c.name == name)).first()
        if row is None:
            known = [p.name for p in self.list_peers()]
            raise NotFoundError(f"no peer {name!r}; known: {', '.join(known) or 'none'}")
        return self._peer(row)

    def list_peers(self) -> list[Peer]:
        """Return every peer, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.peers).order_by(schema.peers.c.name)).all()
        return [self._peer(r) for r in rows]

    def remove(self, name: str) -> Peer:
        """Forget a peer (its collections stay in the catalog); return it."""
        peer = self.get(name)
        with self.engine.begin() as conn:
            conn.execute(delete(schema.peers).where(schema.peers.c.name == name))
        return peer

    def record_sync(self, name: str, status: dict[str, Any]) -> None:
        """Remember when a peer was synced and what the sync did."""
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.peers)
                .where(schema.peers.c.name == name)
                .values(synced=_now(), status=status)
            )
