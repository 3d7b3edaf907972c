"""Federated item search: one search asked of every live peer at once, under a deadline.

``/stac/search?federated=true`` asks each peer that has a search (hubs and STAC APIs; a static
catalog has none, its harvested records answer here) for the first ``offset + limit`` items
of the same search, all at once, and waits for them until the deadline
(``SCO_FEDERATION_DEADLINE``). A peer that answers in time answers for its own namespace:
its items are given their local collection id (``<peer>:<id>``) and ``sco:peer``, and the
local catalog answers for everything else (its own collections, and those of peers that did
not answer: a mirror still finds them). A peer that is down, slow or answers nonsense makes
the answer *partial*: flagged, with the reason per peer, never an error.

The merged list is the local answer, then each answering peer's by name; pages are offsets
into it, so a page is stable while the peers' catalogs are.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from spaceclimate.errors import SCOError
from spaceclimate.peers.registry import SEPARATOR, Peer, local_id, split_id
from spaceclimate.peers.remote import PeerClient

#: Parameters not passed on to peers (paging and collections are rewritten per peer).
LOCAL_PARAMS = frozenset({"federated", "token", "limit", "collections"})


@dataclass
class PeerAnswer:
    """What one peer answered a federated search (or why it did not)."""

    name: str
    status: str  # ok, timeout, unreachable or error
    seconds: float = 0.0
    matched: int | None = None
    features: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The answer's summary (not its items)."""
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 3),
        }
        if self.matched is not None:
            out["matched"] = self.matched
        if self.message:
            out["message"] = self.message
        return out


def searchable(peer: Peer) -> bool:
    """Whether a peer has a search to ask (hubs and STAC APIs)."""
    return peer.kind in ("hub", "stac-api")


def peer_collections(peer: Peer, collections: list[str] | None) -> list[str] | None:
    """The ids a search naming *collections* asks *peer* about (None: all; []: none)."""
    if collections is None:
        return None
    out = []
    for cid in collections:
        parts = split_id(cid)
        if parts is not None and parts[0] == peer.name:
            out.append(parts[1])
    return out


def _ask(peer: Peer, params: list[tuple[str, str]], deadline: float) -> PeerAnswer:
    """Ask one peer; never raises (the reason goes into the answer)."""
    started = time.monotonic()
    client = PeerClient(peer.url, timeout=max(deadline - started, 0.1), deadline=deadline)
    path = "stac/search" if peer.kind == "hub" else "search"
    try:
        page = client.get_json(f"{path}?{urlencode(params)}")
    except SCOError as exc:
        late = time.monotonic() >= deadline - 0.05
        return PeerAnswer(
            peer.name,
            "timeout" if late else "unreachable",
            time.monotonic() - started,
            message=exc.message,
        )
    seconds = time.monotonic() - started
    if not isinstance(page, dict) or not isinstance(page.get("features"), list):
        return PeerAnswer(peer.name, "error", seconds, message="not an item search answer")
    features = []
    dropped = 0
    for feature in page["features"]:
        if not isinstance(feature, dict) or not isinstance(feature.get("collection"), str):
            dropped += 1
            continue
        if SEPARATOR in feature["collection"]:
            dropped += 1  # pooled by the peer from elsewhere: its origin answers for it
            continue
        feature = dict(feature)
        feature["collection"] = local_id(peer.name, feature["collection"])
        feature["properties"] = {**(feature.get("properties") or {}), "sco:peer": peer.name}
        features.append(feature)
    matched = page.get("numberMatched")
    exact = isinstance(matched, int) and not dropped  # a count of what was left out is unknown
    return PeerAnswer(peer.name, "ok", seconds, matched if exact else None, features)


def fan_out(
    peers: list[Peer],
    params: list[tuple[str, str]],
    collections: list[str] | None,
    want: int,
    deadline_seconds: float,
) -> list[PeerAnswer]:
    """Ask every searchable peer for its first *want* items, waiting until the deadline.

    *params* are the search's query parameters as sent; ``collections`` is rewritten per
    peer (a peer is not asked when the search names none of its collections).
    """
    kept = [(k, v) for k, v in params if k not in LOCAL_PARAMS]
    asked: list[tuple[Peer, list[tuple[str, str]]]] = []
    for peer in peers:
        if not searchable(peer):
            continue
        ids = peer_collections(peer, collections)
        if ids == []:
            continue
        extra = [("collections", ",".join(ids))] if ids else []
        asked.append((peer, [*kept, *extra, ("limit", str(want))]))
    if not asked:
        return []
    deadline = time.monotonic() + deadline_seconds
    pool = ThreadPoolExecutor(max_workers=len(asked), thread_name_prefix="sco-federated")
    try:
        futures = [pool.submit(_ask, peer, p, deadline) for peer, p in asked]
        wait(futures, timeout=deadline_seconds + 0.5)
        answers = []
        for (peer, _p), future in zip(asked, futures, strict=True):
            if future.done():
                answers.append(future.result())
            else:
                answers.append(
                    PeerAnswer(peer.name, "timeout", deadline_seconds, message="no answer in time")
                )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return answers
