"""Territories and their local datasets in the hub's database.

A territory belongs to whoever made it: ``key:<id>`` for an API key, nothing (``None``) for
one made on the hub's machine (``sco territory add``). It is seen by its owner and admin keys,
and by everyone once published; its local datasets are seen by whoever sees it, and changed by
its owner and admin keys only. An upload is stored in one transaction: all of it or nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Engine

from spaceclimate.clock import now_iso
from spaceclimate.db import migrate
from spaceclimate.db.engine import create_db_engine
from spaceclimate.db.schema import local_datasets, local_values, territories
from spaceclimate.errors import ForbiddenError, NotFoundError, UnauthorizedError
from spaceclimate.territories.localdata import LocalSeries
from spaceclimate.territories.places import Place, geometry_json, slug

#: Rows inserted per statement when storing an upload.
INSERT_BATCH = 5000


@dataclass(frozen=True)
class Caller:
    """Who asks: the owner string of its key (``key:<id>``), whether admin, or anonymous."""

    owner: str | None = None
    admin: bool = False

    @classmethod
    def hub(cls) -> Caller:
        """The hub's own machine (the CLI): sees and changes everything."""
        return cls(None, True)


def _iso(t: np.datetime64) -> str:
    return f"{np.datetime_as_string(t.astype('datetime64[s]'), unit='s')}Z"


class TerritoryStore:
    """Create, list, read and delete territories and their local datasets."""

    def __init__(self, engine: Engine | str) -> None:
        self._own = isinstance(engine, str)
        self.engine = create_db_engine(engine) if isinstance(engine, str) else engine
        migrate.upgrade(self.engine)

    def close(self) -> None:
        """Release connections (when the engine is this store's own)."""
        if self._own:
            self.engine.dispose()

    # -- territories ------------------------------------------------------------------------
    @staticmethod
    def _doc(row: Any) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.name,
            "kind": row.kind,
            "definition": row.definition,
            "geometry": row.geometry,
            "bbox": [row.minx, row.miny, row.maxx, row.maxy],
            "owner": row.owner,
            "published": bool(row.published),
            "created": row.created,
        }

    def create(self, place: Place, owner: str | None) -> dict[str, Any]:
        """Store *place* for *owner*; return its record (with its new id)."""
        west, south, east, north = place.bbox
        territory_id = f"{slug(place.name)}-{secrets.token_hex(3)}"
        definition = dict(place.definition)
        definition["properties"] = {**definition.get("properties", {}), **place.extra}
        if place.description:
            definition["properties"]["description"] = place.description
        row = {
            "id": territory_id,
            "name": place.name,
            "kind": place.kind,
            "definition": definition,
            "geometry": geometry_json(place.geometry),
            "minx": west,
            "miny": south,
            "maxx": east,
            "maxy": north,
            "owner": owner,
            "published": place.published,
            "created": now_iso(),
        }
        with self.engine.begin() as conn:
            conn.execute(sa.insert(territories).values(**row))
        return self.get(territory_id, Caller.hub())

    @staticmethod
    def visible(doc: dict[str, Any], caller: Caller) -> bool:
        """True when *caller* may see the territory *doc*."""
        return bool(
            doc["published"]
            or caller.admin
            or (caller.owner is not None and doc["owner"] == caller.owner)
        )

    def get(self, territory_id: str, caller: Caller) -> dict[str, Any]:
        """The territory *territory_id* if *caller* sees it (404 otherwise: never a hint)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(territories).where(territories.c.id == territory_id)
            ).first()
        if row is None or not self.visible(self._doc(row), caller):
            raise NotFoundError(f"territory {territory_id!r} not found")
        return self._doc(row)

    def check_owner(self, doc: dict[str, Any], caller: Caller) -> None:
        """Raise unless *caller* may change the territory *doc* (its owner or an admin)."""
        if caller.admin or (caller.owner is not None and doc["owner"] == caller.owner):
            return
        if caller.owner is None:
            raise UnauthorizedError(f"territory {doc['id']!r}: changing it needs its owner's key")
        raise ForbiddenError(f"territory {doc['id']!r} belongs to another key")

    def list_territories(self, caller: Caller) -> list[dict[str, Any]]:
        """Every territory *caller* sees, newest first."""
        query = sa.select(territories).order_by(territories.c.created.desc())
        if not caller.admin:
            seen: sa.ColumnElement[bool] = territories.c.published.is_(True)
            if caller.owner is not None:
                seen = sa.or_(seen, territories.c.owner == caller.owner)
            query = query.where(seen)
        with self.engine.connect() as conn:
            return [self._doc(r) for r in conn.execute(query)]

    def delete(self, territory_id: str, caller: Caller) -> None:
        """Delete a territory and its local datasets (its owner or an admin)."""
        doc = self.get(territory_id, caller)
        self.check_owner(doc, caller)
        with self.engine.begin() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    sa.select(local_datasets.c.id).where(local_datasets.c.territory_id == doc["id"])
                )
            ]
            if ids:
                conn.execute(sa.delete(local_values).where(local_values.c.dataset_id.in_(ids)))
                conn.execute(sa.delete(local_datasets).where(local_datasets.c.id.in_(ids)))
            conn.execute(sa.delete(territories).where(territories.c.id == doc["id"]))

    # -- local datasets ---------------------------------------------------------------------
    def add_datasets(
        self, territory: dict[str, Any], series: list[LocalSeries], name: str, source: str
    ) -> list[dict[str, Any]]:
        """Store the series of one upload (one dataset per variable), all or nothing."""
        from shapely.geometry import Point, shape

        polygon = shape(territory["geometry"])
        created = now_iso()
        docs: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            for s in series:
                dataset_id = f"{slug(name or s.variable)}-{slug(s.variable)}-{secrets.token_hex(3)}"
                counts = {st: int((s.station == st).sum()) for st in s.stations}
                stations = [
                    {
                        "id": st,
                        "lon": lon,
                        "lat": lat,
                        "count": counts[st],
                        "inside": bool(polygon.covers(Point(lon, lat))),
                    }
                    for st, (lon, lat) in s.stations.items()
                ]
                doc = {
                    "id": dataset_id,
                    "territory": territory["id"],
                    "name": name or s.variable,
                    "variable": s.variable,
                    "units": s.units,
                    "rows": s.rows,
                    "missing": s.missing,
                    "start": _iso(s.time.min()),
                    "end": _iso(s.time.max()),
                    "stations": stations,
                    "source": source,
                    "created": created,
                    "kind": "local",
                }
                conn.execute(
                    sa.insert(local_datasets).values(
                        id=dataset_id,
                        territory_id=territory["id"],
                        name=doc["name"],
                        variable=s.variable,
                        units=s.units,
                        rows=s.rows,
                        start=doc["start"],
                        end=doc["end"],
                        created=created,
                        doc=doc,
                    )
                )
                times = np.datetime_as_string(s.time.astype("datetime64[s]"), unit="s")
                rows = [
                    {
                        "dataset_id": dataset_id,
                        "station": str(st),
                        "time": f"{t}Z",
                        "value": float(v),
                    }
                    for st, t, v in zip(s.station, times, s.value, strict=True)
                ]
                for start in range(0, len(rows), INSERT_BATCH):
                    conn.execute(sa.insert(local_values), rows[start : start + INSERT_BATCH])
                docs.append(doc)
        return docs

    def datasets(self, territory_id: str) -> list[dict[str, Any]]:
        """The local datasets of a territory (whoever sees the territory sees them)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(local_datasets.c.doc)
                .where(local_datasets.c.territory_id == territory_id)
                .order_by(local_datasets.c.created, local_datasets.c.id)
            ).all()
        return [dict(r.doc) for r in rows]

    def dataset(self, territory_id: str, dataset_id: str) -> dict[str, Any]:
        """One local dataset of a territory (404 when it is not one of its datasets)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(local_datasets.c.doc).where(
                    local_datasets.c.id == dataset_id,
                    local_datasets.c.territory_id == territory_id,
                )
            ).first()
        if row is None:
            raise NotFoundError(f"territory {territory_id!r} has no local dataset {dataset_id!r}")
        return dict(row.doc)

    def series(self, doc: dict[str, Any]) -> LocalSeries:
        """The values of the local dataset *doc*, ordered by station and time."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(local_values.c.station, local_values.c.time, local_values.c.value)
                .where(local_values.c.dataset_id == doc["id"])
                .order_by(local_values.c.station, local_values.c.time)
            ).all()
        return LocalSeries(
            doc["variable"],
            doc["units"],
            {s["id"]: (float(s["lon"]), float(s["lat"])) for s in doc["stations"]},
            np.array([r.station for r in rows], dtype=object),
            np.array([r.time.rstrip("Z") for r in rows], dtype="datetime64[s]"),
            np.array([r.value for r in rows], dtype="float64"),
            int(doc.get("missing", 0)),
        )
