"""Territories at work in a hub: their store, local data and match-ups against pooled records."""

from __future__ import annotations

import re
import threading
import weakref
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from spaceclimate.errors import InputError, NotFoundError
from spaceclimate.territories.localdata import LocalSeries, parse_upload
from spaceclimate.territories.matchup import MatchUp, Reference, Side, match
from spaceclimate.territories.places import parse_place
from spaceclimate.territories.store import Caller, TerritoryStore

#: Longest match-up window.
MAX_WINDOW = pd.Timedelta(days=366)
#: Collection prefix of a pooled record used as the local side of a match-up.
COLLECTION_PREFIX = "collection:"
#: Variables of a binned cube that are counts and spreads, not the measured quantity.
_AUXILIARY = ("_count", "_std")


_DURATION = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_window(text: str | None) -> np.timedelta64:
    """An ISO 8601 duration of weeks, days, hours, minutes or seconds (``P1D``, ``PT6H``).

    Years and months have no fixed length and are refused; zero when *text* is empty.
    """
    if not text:
        return np.timedelta64(0, "s")
    found = _DURATION.match(text.strip().upper())
    if found is None or text.strip().upper() in ("P", "PT"):
        raise InputError(
            f"window: {text!r} is not an ISO 8601 duration in weeks, days or hours (P1D, "
            "PT6H; months and years have no fixed length)"
        )
    seconds = sum(float(v) * _SECONDS[k] for k, v in found.groupdict().items() if v)
    if seconds > MAX_WINDOW.total_seconds():
        raise InputError("window: at most one year")
    return np.timedelta64(int(seconds), "s")


def main_variable(cube: xr.Dataset, collection_id: str, name: str | None) -> str:
    """*name*, checked, or the collection's measured variable (not a count or spread)."""
    names = [str(v) for v in cube.data_vars if not str(v).endswith("_bnds")]
    if name:
        if name not in names:
            raise NotFoundError(
                f"collection {collection_id!r} has no variable {name!r}; known: {', '.join(names)}"
            )
        return name
    main = [n for n in names if not n.endswith(_AUXILIARY) and "time" in cube[n].dims]
    if not main:
        raise InputError(f"collection {collection_id!r} has no time series variable")
    return main[0]


def _gridded(cube: xr.Dataset) -> bool:
    return ("lat" in cube.dims and "lon" in cube.dims) or ("x" in cube.dims and "y" in cube.dims)


class Territories:
    """The territories of one hub (API context or CLI): places, local data, match-ups."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        engine = getattr(ctx.catalog, "engine", None)
        self.store = TerritoryStore(
            engine if engine is not None else ctx.settings.resolved_catalog_url
        )

    # -- places -----------------------------------------------------------------------------
    def add(self, feature: Any, caller: Caller) -> dict[str, Any]:
        """Create a territory from a GeoJSON Feature for *caller*."""
        return self.store.create(parse_place(feature), caller.owner)

    def get(self, territory_id: str, caller: Caller) -> dict[str, Any]:
        """A territory *caller* sees."""
        return self.store.get(territory_id, caller)

    @staticmethod
    def polygon(doc: dict[str, Any]) -> BaseGeometry:
        """The resolved polygon of a territory record."""
        return shape(doc["geometry"])

    # -- local data -------------------------------------------------------------------------
    def upload(
        self,
        territory_id: str,
        data: bytes,
        caller: Caller,
        *,
        name: str = "",
        content_type: str = "",
        filename: str = "",
    ) -> list[dict[str, Any]]:
        """Check and store an upload into a territory (its owner or an admin); all or nothing."""
        doc = self.store.get(territory_id, caller)
        self.store.check_owner(doc, caller)
        series = parse_upload(data, content_type, filename)
        return self.store.add_datasets(doc, series, name, filename or "upload")

    # -- match-ups --------------------------------------------------------------------------
    def _collection_side(
        self, collection_id: str, variable: str | None
    ) -> tuple[xr.Dataset, str, Side]:
        doc = self.ctx.collection(collection_id)
        cube = self.ctx.cube(collection_id)
        name = main_variable(cube, collection_id, variable)
        attrs = cube[name].attrs
        side = Side(
            label=str(doc.get("title") or collection_id),
            variable=name,
            units=str(attrs.get("units", "1")),
            extra={
                "collection": collection_id,
                "version": doc.get("version"),
                "standard_name": attrs.get("standard_name"),
                "kind": (doc.get("summaries") or {}).get("sco:kind") or doc.get("sco:kind"),
            },
        )
        return cube, name, side

    def reference(self, territory: dict[str, Any], local: str, variable: str | None) -> Reference:
        """The local side named *local*: a local dataset id, or ``collection:<id>``."""
        if local.startswith(COLLECTION_PREFIX):
            collection_id = local[len(COLLECTION_PREFIX) :]
            cube, name, side = self._collection_side(collection_id, variable)
            if _gridded(cube):
                return Reference(side, grid=cube[name], cube=cube)
            return Reference(side, series=self._station_record(collection_id, cube, name, side))
        doc = self.store.dataset(territory["id"], local)
        side = Side(
            label=str(doc["name"]),
            variable=doc["variable"],
            units=doc["units"],
            extra={"dataset": doc["id"], "stations": len(doc["stations"]), "kind": "local"},
        )
        return Reference(side, series=self.store.series(doc))

    def _station_record(
        self, collection_id: str, cube: xr.Dataset, name: str, side: Side
    ) -> LocalSeries:
        """An in situ record without a grid as one station at the centre of its extent."""
        from spaceclimate.territories.matchup import step_bounds

        bbox = self.ctx.collection(collection_id)["extent"]["spatial"]["bbox"][0]
        lon, lat = (bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0
        starts, ends = step_bounds(cube[name], cube)
        values = np.asarray(cube[name].values, dtype="float64").reshape(-1)
        if values.size != starts.size:
            raise InputError(f"collection {collection_id!r}: one value per time step is needed")
        ok = np.isfinite(values)
        times = (starts + (ends - starts) // 2)[ok]
        side.extra["station"] = [lon, lat]
        return LocalSeries(
            name,
            side.units,
            {collection_id: (lon, lat)},
            np.full(int(ok.sum()), collection_id, dtype=object),
            times,
            values[ok],
        )

    def candidates(self, reference: Reference, exclude: str | None) -> list[str]:
        """Pooled gridded collections holding the reference's variable (by name or CF name)."""
        wanted = {reference.side.variable.lower()}
        standard = reference.side.extra.get("standard_name")
        if standard:
            wanted.add(str(standard).lower())
        found = []
        for collection_id in self.ctx.collection_ids():
            if collection_id == exclude:
                continue
            try:
                cube = self.ctx.cube(collection_id)
            except NotFoundError:
                continue
            if not _gridded(cube):
                continue
            for name, var in cube.data_vars.items():
                keys = {str(name).lower(), str(var.attrs.get("standard_name", "")).lower()}
                if keys & wanted and "time" in var.dims:
                    found.append(collection_id)
                    break
        return found

    def matchups(
        self,
        territory_id: str,
        caller: Caller,
        *,
        local: str,
        local_variable: str | None = None,
        collection: str | None = None,
        variable: str | None = None,
        method: str = "nearest",
        radius_km: float = 25.0,
        window: str | None = None,
    ) -> list[MatchUp]:
        """Match the local side against one collection, or every one of the same variable."""
        territory = self.store.get(territory_id, caller)
        reference = self.reference(territory, local, local_variable)
        span = parse_window(window)
        polygon = self.polygon(territory)
        exclude = local[len(COLLECTION_PREFIX) :] if local.startswith(COLLECTION_PREFIX) else None
        targets = [collection] if collection else self.candidates(reference, exclude)
        if not targets:
            raise NotFoundError(
                f"no pooled gridded record of {reference.side.variable!r}: name one with "
                "'collection'"
            )
        results = []
        for target in targets:
            cube, name, side = self._collection_side(target, variable if collection else None)
            results.append(
                match(
                    reference,
                    cube[name],
                    cube,
                    side,
                    method=method,
                    radius_km=radius_km,
                    window=span,
                    territory=polygon,
                )
            )
        return results


_BY_CONTEXT: weakref.WeakKeyDictionary[Any, Territories] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def territories_for(ctx: Any) -> Territories:
    """The one :class:`Territories` of a hub context (made at first use)."""
    with _LOCK:
        found = _BY_CONTEXT.get(ctx)
        if found is None:
            found = _BY_CONTEXT[ctx] = Territories(ctx)
        return found
