"""The hub side of a running operation: opening collections, computing with progress.

:class:`JobContext` is what an operation's function receives as its
:class:`~spaceclimate.compute.registry.OperationContext` when the hub runs it (as a job, a
synchronous request or ``sco compute``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import xarray as xr
from dask.callbacks import Callback
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from spaceclimate.catalog.records import cube_href
from spaceclimate.compute.cluster import compute_on_cluster, dask_client
from spaceclimate.compute.registry import Source
from spaceclimate.compute.selection import select
from spaceclimate.compute.travelling import hub_indicators
from spaceclimate.errors import NotFoundError
from spaceclimate.jobs.env import JobEnv
from spaceclimate.store.series import has_series, open_series


class _DaskProgress(Callback):  # type: ignore[misc]
    """Report dask task completion as job progress; stop when the job must stop."""

    def __init__(self, env: JobEnv, low: float, high: float, message: str) -> None:
        super().__init__()
        self.env, self.low, self.high, self.message = env, low, high, message
        self.total = 1
        self.done = 0
        self.last = 0.0

    def _start_state(self, _dsk: Any, state: Mapping[str, Any]) -> None:
        self.total = max(1, sum(len(state[k]) for k in ("ready", "waiting", "running", "finished")))

    def _posttask(self, *_args: Any) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.last > 0.5:
            self.last = now
            self.env.check()
            self.env.report(
                self.low + (self.high - self.low) * self.done / self.total, self.message
            )


class JobContext:
    """An operation's view of the hub while it runs in a job's environment."""

    def __init__(self, env: JobEnv) -> None:
        self.env = env
        home = getattr(env.settings, "home", None)
        if home is not None:  # the indicators imported into this hub
            hub_indicators(home)

    def territory(self, territory_id: str) -> tuple[BaseGeometry, dict[str, Any]]:
        """Return a territory's polygon and record, if the job's submitter sees it.

        A job submitted with a key sees the published territories and the key's own; an
        anonymous one the published ones; one made on the hub's machine every territory.
        """
        from spaceclimate.territories.store import Caller, TerritoryStore

        submitter = self.env.submitter
        if self.env.job_id is None or submitter is None:
            caller = Caller.hub()
        else:
            caller = Caller(submitter if submitter.startswith("key:") else None)
        engine = getattr(self.env.catalog, "engine", None)
        store = TerritoryStore(
            engine if engine is not None else self.env.settings.resolved_catalog_url
        )
        try:
            doc = store.get(territory_id, caller)
        except NotFoundError:
            raise NotFoundError(f"inputs.territory: no territory {territory_id!r}") from None
        finally:
            store.close()
        return shape(doc["geometry"]), doc

    def collections(self, ecv: str | None = None) -> list[dict[str, Any]]:
        """Return the STAC documents of the published collections (of one ECV)."""
        docs = list(self.env.catalog.list_collections())
        return [d for d in docs if ecv is None or d.get("sco:ecv") == ecv]

    def open(self, collection_id: str, name: str = "collection") -> Source:
        """Return the latest cube of a collection; NotFoundError naming input *name*."""
        try:
            doc = self.env.catalog.get_collection(collection_id)
        except NotFoundError:
            known = [c["id"] for c in self.env.catalog.list_collections()]
            raise NotFoundError(
                f"inputs.{name}: no collection {collection_id!r}; known: {', '.join(known)}",
                known=known,
            ) from None
        return Source(str(doc["id"]), doc, self.env.store.open(cube_href(doc)))

    def report(self, fraction: float, message: str) -> None:
        """Report progress; raises when the job was dismissed or ran out of time."""
        self.env.report(fraction, message)

    def compute(self, obj: Any, low: float, high: float, message: str, local: bool = False) -> Any:
        """Compute a lazy result with progress between *low* and *high* (fractions of the job).

        With ``SCO_DASK_SCHEDULER`` the work runs on that cluster (progress from its futures;
        a dismissed job's futures are cancelled there), unless *local* (work that writes files
        of this machine); otherwise on Dask threads of this process.
        """
        env = self.env
        env.report(low, message)
        client = None if local else dask_client(getattr(env.settings, "dask_scheduler", None))
        if client is not None:

            def progress(done: int, total: int) -> None:
                env.check()
                env.report(low + (high - low) * done / max(1, total), message)

            out = compute_on_cluster(client, obj, progress)
        else:
            with _DaskProgress(env, low, high, message):
                out = obj.compute()
        env.report(high, message)
        return out

    def series_shaped(self, source: Source, da: xr.DataArray, datetime: str | None) -> xr.DataArray:
        """Return *da* read from the cube's series-shaped copy when it holds the variable.

        An area mean reads every time step of the cells of one region: the copy's chunks (256
        steps of 16 x 16 cells) cover a region with dense reads, and the copy is opened
        without dask, so a regional mean reads the region's window 256 steps at a time
        straight from Zarr (bounded memory, no task graph of thousands of chunks).
        """
        path = self.env.store.path(str(source.doc["assets"]["zarr"]["href"]))
        if not has_series(path):
            return da
        series = open_series(path, dask=False)
        if da.name not in series.data_vars:
            return da
        picked = select(series, datetime)[str(da.name)]
        if picked.sizes != da.sizes:
            return da
        # the copy holds the values only: the grid's projection (the grid-mapping variable,
        # 2-D lat/lon) and the variable's attributes come from the cube itself
        missing = {k: v for k, v in da.coords.items() if k not in picked.coords}
        return picked.assign_coords(missing).assign_attrs(da.attrs)
