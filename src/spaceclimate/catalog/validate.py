"""Checks of STAC Collections and Items sent by clients (STAC transactions).

Each check returns the document as the hub stores it, or raises InputError naming the first
field at fault. The hub's own fields are the hub's: ``sco:*`` fields (but ``sco:ecv``) are
ignored when sent, and a cube collection keeps its id, extent, datacube fields and cube asset
whatever a replacement says.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import shapely.geometry
from shapely.errors import GEOSException

from spaceclimate.catalog.stac import STAC_VERSION
from spaceclimate.errors import InputError
from spaceclimate.params import validate_bbox

COLLECTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,299}$")
#: Fields a cube collection keeps from its cube whatever a replacement says.
CUBE_FIELDS = ("id", "type", "extent", "cube:dimensions", "cube:variables")
#: Fields only a cube may give a collection (catalog-only collections may not have them).
DATACUBE_FIELDS = ("cube:dimensions", "cube:variables")
#: The one hub field a client may set on a catalog-only collection.
CLIENT_SCO_FIELDS = ("sco:ecv",)
GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: must be a JSON object")
    return dict(value)


def _text(doc: Mapping[str, Any], name: str, where: str, required: bool = True) -> None:
    value = doc.get(name)
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}.{name}: must be a non-empty string")


def _strings(doc: Mapping[str, Any], name: str, where: str) -> None:
    value = doc.get(name)
    if value is not None and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise InputError(f"{where}.{name}: must be a list of strings")


def _finite_json(doc: Any, where: str) -> None:
    try:
        json.dumps(doc, allow_nan=False)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where}: numbers must be finite ({exc})") from None


def parse_instant(value: Any, where: str) -> datetime | None:
    """Read an RFC 3339 date-time (or null); naive times count as UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: must be an RFC 3339 date-time string or null")
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}: {value!r} is not an RFC 3339 date-time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def check_bbox(value: Any, where: str) -> list[float]:
    """Return a lon/lat bbox ``[minx, miny, maxx, maxy]`` (a 3-D bbox loses its heights)."""
    if not isinstance(value, list) or len(value) not in (4, 6):
        raise InputError(f"{where}: must be 4 (or 6) numbers")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise InputError(f"{where}: must be numbers")
    return list(validate_bbox(value, where))


def _check_links(doc: Mapping[str, Any], where: str) -> None:
    links = doc.get("links")
    if links is None:
        return
    if not isinstance(links, list):
        raise InputError(f"{where}.links: must be a list of link objects")
    for i, lk in enumerate(links):
        if not isinstance(lk, Mapping) or not isinstance(lk.get("href"), str):
            raise InputError(f"{where}.links[{i}]: must be an object with an href")
        if not isinstance(lk.get("rel"), str):
            raise InputError(f"{where}.links[{i}].rel: must be a string")
        for name in ("type", "title"):
            if lk.get(name) is not None and not isinstance(lk[name], str):
                raise InputError(f"{where}.links[{i}].{name}: must be a string")


def _drop_nulls(doc: dict[str, Any]) -> None:
    """Leave out null optional strings (a title, a link's title or type): absent in STAC."""
    if doc.get("title", "") is None:
        del doc["title"]
    links = doc.get("links")
    if isinstance(links, list):
        doc["links"] = [{k: v for k, v in lk.items() if v is not None} for lk in links]


def _check_assets(doc: Mapping[str, Any], where: str, reserved: tuple[str, ...] = ()) -> None:
    assets = doc.get("assets")
    if assets is None:
        return
    if not isinstance(assets, Mapping):
        raise InputError(f"{where}.assets: must be an object of assets")
    for name, asset in assets.items():
        if name in reserved:
            raise InputError(f"{where}.assets.{name}: reserved for the hub's own cube")
        if not isinstance(asset, Mapping) or not isinstance(asset.get("href"), str):
            raise InputError(f"{where}.assets.{name}: must be an object with an href")
        parts = urlsplit(asset["href"])
        if not parts.scheme or not parts.netloc:
            raise InputError(
                f"{where}.assets.{name}.href: must be an absolute URL (https://, s3://, ...)"
            )


def _check_providers(doc: Mapping[str, Any], where: str) -> list[str]:
    providers = doc.get("providers")
    if providers is None:
        return []
    if not isinstance(providers, list):
        raise InputError(f"{where}.providers: must be a list of provider objects")
    names = []
    for i, provider in enumerate(providers):
        if not isinstance(provider, Mapping):
            raise InputError(f"{where}.providers[{i}]: must be an object")
        _text(provider, "name", f"{where}.providers[{i}]")
        _strings(provider, "roles", f"{where}.providers[{i}]")
        names.append(str(provider["name"]).strip())
    return names


def _check_common(doc: dict[str, Any], kind: str, where: str) -> None:
    if doc.get("type") != kind:
        raise InputError(f"{where}.type: must be {kind!r}")
    _text(doc, "stac_version", where, required=False)
    _strings(doc, "stac_extensions", where)
    _check_links(doc, where)
    _finite_json(doc, where)


def _check_extent(doc: Mapping[str, Any], where: str) -> None:
    extent = _object(doc.get("extent"), f"{where}.extent")
    spatial = _object(extent.get("spatial"), f"{where}.extent.spatial")
    temporal = _object(extent.get("temporal"), f"{where}.extent.temporal")
    boxes = spatial.get("bbox")
    if not isinstance(boxes, list) or not boxes:
        raise InputError(f"{where}.extent.spatial.bbox: must be a list of bboxes")
    for i, box in enumerate(boxes):
        check_bbox(box, f"{where}.extent.spatial.bbox[{i}]")
    intervals = temporal.get("interval")
    if not isinstance(intervals, list) or not intervals:
        raise InputError(f"{where}.extent.temporal.interval: must be a list of [start, end]")
    for i, interval in enumerate(intervals):
        name = f"{where}.extent.temporal.interval[{i}]"
        if not isinstance(interval, list) or len(interval) != 2:
            raise InputError(f"{name}: must be [start, end] (null for open)")
        start, end = (parse_instant(v, name) for v in interval)
        if start and end and end < start:
            raise InputError(f"{name}: ends before it starts")


def check_collection(sent: Any, where: str = "body") -> dict[str, Any]:
    """Return a catalog-only collection as stored, from a client's STAC Collection."""
    doc = copy.deepcopy(_object(sent, where))
    _check_common(doc, "Collection", where)
    if not isinstance(doc.get("id"), str) or not COLLECTION_ID.match(doc["id"]):
        raise InputError(f"{where}.id: 1-200 letters, digits, '.', '_' or '-' (not first)")
    _text(doc, "description", where)
    _text(doc, "license", where)
    _text(doc, "title", where, required=False)
    _strings(doc, "keywords", where)
    _drop_nulls(doc)
    for name in DATACUBE_FIELDS:
        if name in doc:
            raise InputError(
                f"{where}.{name}: only collections with a cube on this hub have it "
                "(ingest the data with POST /ingest)"
            )
    for name in list(doc):
        if name.startswith("sco:") and name not in CLIENT_SCO_FIELDS:
            del doc[name]  # the hub's own fields (a document read back from the hub has them)
    if "sco:ecv" in doc and not isinstance(doc["sco:ecv"], str):
        raise InputError(f"{where}.sco:ecv: must be a string (an ECV id)")
    agencies = _check_providers(doc, where)
    _check_extent(doc, where)
    _check_assets(doc, where, reserved=("zarr",))
    if "summaries" in doc:
        _object(doc["summaries"], f"{where}.summaries")
    doc.setdefault("stac_version", STAC_VERSION)
    doc.setdefault("links", [])
    doc["sco:ecv"] = doc.get("sco:ecv", "")
    doc["sco:agencies"] = list(dict.fromkeys(agencies))
    return doc


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON merge patch (RFC 7396) to *target*; neither argument is changed.

    Parameters
    ----------
    target
        The document as it is.
    patch
        An object: its members replace the target's (recursively for objects), a null member
        removes one; any other value (a list, a string) replaces the target whole.

    Returns
    -------
    Any
        The patched document.
    """
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = copy.deepcopy(dict(target)) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = merge_patch(out.get(name), value)
    return out


def merge_cube_collection(current: Mapping[str, Any], sent: Any, where: str = "body") -> dict:
    """Return a cube collection replaced by a client's document, keeping the cube's fields.

    The id, extent, datacube fields, ``sco:*`` fields and the cube asset come from *current*;
    everything else (title, description, keywords, license, providers, links, other assets,
    summaries, ...) from *sent*.
    """
    doc = copy.deepcopy(_object(sent, where))
    _check_common(doc, "Collection", where)
    _text(doc, "description", where)
    _text(doc, "license", where)
    _text(doc, "title", where, required=False)
    _strings(doc, "keywords", where)
    _drop_nulls(doc)
    _check_providers(doc, where)
    _check_assets(
        {"assets": {k: v for k, v in (doc.get("assets") or {}).items() if k != "zarr"}}, where
    )
    out = {k: v for k, v in doc.items() if k not in CUBE_FIELDS and not k.startswith("sco:")}
    for name in CUBE_FIELDS:
        if name in current:
            out[name] = copy.deepcopy(current[name])
    for name, value in current.items():
        if name.startswith("sco:"):
            out[name] = copy.deepcopy(value)
    assets = {k: v for k, v in (doc.get("assets") or {}).items() if k != "zarr"}
    assets["zarr"] = copy.deepcopy(current["assets"]["zarr"])
    out["assets"] = assets
    extensions = list(current.get("stac_extensions", [])) + list(doc.get("stac_extensions", []))
    out["stac_extensions"] = list(dict.fromkeys(extensions))
    out.setdefault("stac_version", current.get("stac_version", STAC_VERSION))
    out.setdefault("links", [])
    return out


def check_item(sent: Any, collection_id: str, where: str = "body") -> dict[str, Any]:
    """Return an item of a catalog-only collection as stored, from a client's STAC Item."""
    doc = copy.deepcopy(_object(sent, where))
    _check_common(doc, "Feature", where)
    if not isinstance(doc.get("id"), str) or not ITEM_ID.match(doc["id"]):
        raise InputError(f"{where}.id: 1-300 letters, digits, '.', '_', ':' or '-' (not first)")
    if doc.get("collection", collection_id) != collection_id:
        raise InputError(f"{where}.collection: {doc['collection']!r} is not {collection_id!r}")
    doc["collection"] = collection_id
    geometry = doc.get("geometry")
    bounds: list[float] | None = None
    if geometry is not None:
        geom = _object(geometry, f"{where}.geometry")
        if geom.get("type") not in GEOMETRY_TYPES:
            raise InputError(f"{where}.geometry.type: must be a GeoJSON geometry type")
        try:
            shape = shapely.geometry.shape(geom)
        except (GEOSException, ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise InputError(f"{where}.geometry: not a valid GeoJSON geometry") from None
        if shape.is_empty:
            raise InputError(f"{where}.geometry: is empty")
        bounds = check_bbox(list(shape.bounds), f"{where}.geometry (its bounds)")
    elif "geometry" not in doc:
        raise InputError(f"{where}.geometry: required (a GeoJSON geometry or null)")
    if doc.get("bbox") is not None:
        doc["bbox"] = check_bbox(doc["bbox"], f"{where}.bbox")
    elif bounds is not None:
        doc["bbox"] = bounds
    else:
        raise InputError(f"{where}.bbox: required when the geometry is null")
    props = _object(doc.get("properties"), f"{where}.properties")
    for name in list(props):
        if name.startswith("sco:"):
            del props[name]  # the hub's own fields (a document read back from the hub has them)
    if "datetime" not in props:
        raise InputError(f"{where}.properties.datetime: required (null with start/end_datetime)")
    when = parse_instant(props["datetime"], f"{where}.properties.datetime")
    start = parse_instant(props.get("start_datetime"), f"{where}.properties.start_datetime")
    end = parse_instant(props.get("end_datetime"), f"{where}.properties.end_datetime")
    if when is None and (start is None or end is None):
        raise InputError(
            f"{where}.properties: a null datetime needs start_datetime and end_datetime"
        )
    if start and end and end < start:
        raise InputError(f"{where}.properties.end_datetime: before start_datetime")
    _check_assets(doc, where)
    _drop_nulls(doc)
    doc["properties"] = props
    doc.setdefault("stac_version", STAC_VERSION)
    doc.setdefault("links", [])
    doc.setdefault("assets", {})
    return doc
