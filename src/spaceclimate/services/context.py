"""What every router is given: settings, the catalog, the cube store and request limits.

The context opens each published cube at most once (cubes are immutable, so a cached open is
never stale) and answers the questions every data endpoint asks first: does the collection
exist, which variables does it have, and is a request small enough to answer now.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import xarray as xr

from spaceclimate.catalog import CatalogBackend, open_catalog
from spaceclimate.catalog.records import cube_href
from spaceclimate.compute.travelling import hub_indicators
from spaceclimate.config import Settings
from spaceclimate.errors import NotFoundError, TooLargeError
from spaceclimate.jobs import JobStore
from spaceclimate.services.load import Load
from spaceclimate.store import CubeLocation, CubeStore, open_store

#: How many opened cubes the context keeps (each holds only metadata until read).
CUBE_CACHE_SIZE = 64
#: Cell bounds up to this size are held in memory with an open cube.
SMALL_VARIABLE_BYTES = 16 * 2**20


def human_bytes(n: float) -> str:
    """Format a byte count for people (``1.5 GB``)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class HubContext:
    """Shared state of one API process: settings, catalog, store and a cache of open cubes."""

    def __init__(
        self,
        settings: Settings,
        *,
        catalog: CatalogBackend | None = None,
        store: CubeStore | None = None,
        jobs: JobStore | None = None,
    ) -> None:
        """Open the services *settings* describe; any of them may be given instead."""
        self.settings = settings
        hub_indicators(settings.home)  # the indicators imported into this hub
        self.catalog: CatalogBackend = catalog or open_catalog(settings.resolved_catalog_url)
        self.store: CubeStore = store or open_store(settings)
        self.jobs = jobs or JobStore(settings.resolved_catalog_url)
        self._cubes: OrderedDict[str, xr.Dataset] = OrderedDict()
        self._lock = threading.Lock()
        self.load = Load()  # kept by admission control; heavy streams defer to light work

    def close(self) -> None:
        """Release the catalog's connections and forget open cubes."""
        with self._lock:
            self._cubes.clear()
        self.jobs.close()
        self.catalog.close()

    # -- collections ------------------------------------------------------------------------
    def collection_ids(self) -> list[str]:
        """Return the ids of every published collection."""
        return [c["id"] for c in self.catalog.list_collections()]

    def collection(self, collection_id: str) -> dict[str, Any]:
        """Return the latest STAC Collection; NotFoundError naming the known ids."""
        try:
            return self.catalog.get_collection(collection_id)
        except NotFoundError:
            known = self.collection_ids()
            raise NotFoundError(
                f"no collection {collection_id!r}; known: {', '.join(known)}", known=known
            ) from None

    def cube_href(self, collection_id: str) -> str:
        """Return the store href of a collection's latest cube (404 for catalog-only ones)."""
        return cube_href(self.collection(collection_id))

    def cube_path(self, collection_id: str) -> CubeLocation:
        """Return the location of a collection's latest cube (a folder or an object prefix)."""
        return self.store.path(self.cube_href(collection_id))

    def cube(self, collection_id: str) -> xr.Dataset:
        """Return the latest cube of a collection, opened lazily (cached by href).

        The cell bounds of its coordinates are read when it is opened: point and area
        queries look them up on every request.
        """
        return self.cube_at(self.cube_href(collection_id))

    def cube_at(self, href: str) -> xr.Dataset:
        """Return the cube at the store *href* (a collection document's ``zarr`` asset),
        opened lazily and cached as :meth:`cube` does."""
        with self._lock:
            ds = self._cubes.get(href)
            if ds is not None:
                self._cubes.move_to_end(href)
                return ds
        ds = self.store.open(href)
        for name, variable in ds.variables.items():  # read once a version, not each request
            if str(name).endswith("_bnds") and variable.nbytes <= SMALL_VARIABLE_BYTES:
                variable.load()
        with self._lock:
            self._cubes[href] = ds
            while len(self._cubes) > CUBE_CACHE_SIZE:
                self._cubes.popitem(last=False)
        return ds

    def variables(self, collection_id: str) -> list[str]:
        """Return the data variable names of a collection's cube."""
        return [str(v) for v in self.cube(collection_id).data_vars]

    def check_variables(self, collection_id: str, names: list[str] | None) -> list[str]:
        """Return *names* (all variables when None) after checking each exists (else 404)."""
        known = self.variables(collection_id)
        if not names:
            return known
        for name in names:
            if name not in known:
                raise NotFoundError(
                    f"collection {collection_id!r} has no variable {name!r}; "
                    f"known: {', '.join(known)}",
                    known=known,
                )
        return names

    # -- limits -----------------------------------------------------------------------------
    @property
    def max_bytes(self) -> int:
        """Largest number of decoded bytes a synchronous request may read."""
        return int(self.settings.max_request_bytes)

    def check_size(self, estimate: int, what: str) -> None:
        """Raise TooLargeError (413, with the estimate) when *estimate* bytes exceed the limit."""
        if estimate > self.max_bytes:
            raise TooLargeError(
                f"{what} would read about {human_bytes(estimate)}, over the limit of "
                f"{human_bytes(self.max_bytes)}; narrow the bbox, time range or variables, "
                "or submit it as an asynchronous job",
                estimate_bytes=int(estimate),
                limit_bytes=self.max_bytes,
                hint="narrow bbox, datetime or parameter-name; or POST it to /processes "
                "with 'Prefer: respond-async'",
            )
