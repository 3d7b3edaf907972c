"""Who is looking: the viewer of a request, against which private collections are checked.

A derived collection made with an API key belongs to that key (``sco:owner: key:<id>``) until
it is published: only that key and admin keys see it, in every API (STAC, search, EDR, tiles,
Zarr, downloads). The API sets the viewer of each request from its key
(:func:`viewing`); everything outside a request (the CLI, ingest, the hub's own jobs) is the
hub, which sees everything. A job runs as its submitter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    """A request's viewer: the owner string of its key (``key:<id>``), or anonymous."""

    owner: str | None = None
    admin: bool = False

    def sees(self, owner: str | None) -> bool:
        """Whether this viewer sees a collection owned by *owner* (None: public)."""
        return owner is None or self.admin or (self.owner is not None and owner == self.owner)


#: Outside any request: the hub itself, which sees every collection.
HUB = Viewer(None, admin=True)
ANONYMOUS = Viewer(None, admin=False)
_CURRENT: ContextVar[Viewer] = ContextVar("sco_viewer", default=HUB)


def current_viewer() -> Viewer:
    """The viewer of the code running now (the hub outside requests and jobs)."""
    return _CURRENT.get()


@contextmanager
def viewing(viewer: Viewer) -> Iterator[Viewer]:
    """Run a block as *viewer*."""
    token = _CURRENT.set(viewer)
    try:
        yield viewer
    finally:
        _CURRENT.reset(token)


def viewer_of_submitter(submitter: str | None) -> Viewer:
    """The viewer of a job by its ``submitter`` (``key:<id>``, ``anonymous``, None: the hub)."""
    if submitter is None:
        return HUB
    if submitter.startswith("key:"):
        return Viewer(submitter)
    return ANONYMOUS
