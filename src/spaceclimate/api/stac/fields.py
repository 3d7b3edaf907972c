"""The fields and sort extensions: which parts of an item to return, and in which order.

Fields (``fields=id,properties.sco:ecv,-assets`` or ``{"include": [...], "exclude": [...]}``)
follow the include/exclude rules of the fields extension 1.0.0:

- no ``fields`` at all: the full item;
- ``fields`` given with nothing in it (``fields=``, ``{}``, ``include`` and ``exclude`` null or
  empty): the default fields, a valid item (:data:`DEFAULT_INCLUDE`);
- ``include`` (alone or with ``exclude``): those paths, with what names the item
  (:data:`MINIMAL`: ``type``, ``stac_version``, ``id`` and ``collection``, as an item id is
  unique within its collection only); properties come with the item's time
  (``properties.datetime`` or, when it is null, ``start_datetime`` and ``end_datetime``), so
  that a client reads them as an item; all of these unless excluded;
- ``exclude`` with ``include`` null or empty (and every GET ``fields`` with only ``-``
  paths): the default fields without the excluded ones;
- ``exclude`` with ``include`` missing (POST only): the full item without the excluded ones;
- a path in both lists is included; of two nested paths the more specific wins
  (``properties`` with ``-properties.sco:ecv`` drops one property; ``-properties`` with
  ``properties.sco:ecv`` keeps that one alone); ``id`` and ``type`` are always kept.

The POST ``fields`` member is an object: ``"fields": null`` is a 400.

Sort (``sortby=-properties.datetime,id`` or ``[{"field": ..., "direction": "desc"}]``):
fields are queryables (with or without ``properties.``) that are sortable.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from spaceclimate.api.stac import queryables as q
from spaceclimate.catalog.filters import SortKey
from spaceclimate.errors import InputError

ALWAYS_KEPT = ("id", "type")
#: What included fields come with (unless excluded): what names the item.
MINIMAL = ("type", "stac_version", "id", "collection")
DEFAULT_INCLUDE = (
    "type",
    "stac_version",
    "stac_extensions",
    "id",
    "collection",
    "geometry",
    "bbox",
    "links",
    "assets",
)


@dataclass(frozen=True)
class FieldsSpec:
    """Paths (dotted, e.g. ``properties.sco:ecv``) to include and exclude.

    ``include`` is None when the request did not name it at all (a POST body's ``fields``
    without ``include``), which differs from an empty or null ``include``.
    """

    include: tuple[str, ...] | None = ()
    exclude: tuple[str, ...] = ()

    def to_body(self) -> dict[str, list[str]]:
        """Return the POST form."""
        out = {"exclude": list(self.exclude)}
        if self.include is not None:
            out["include"] = list(self.include)
        return out


def _check_path(path: str) -> str:
    path = path.strip()
    if not path or any(not part for part in path.split(".")):
        raise InputError(f"parameter 'fields': empty field name in {path!r}")
    return path


def parse_fields_text(text: str | None) -> FieldsSpec | None:
    """Parse the GET form ``a,+b,-c`` (None when absent; no include is an empty include)."""
    if text is None:
        return None
    include: list[str] = []
    exclude: list[str] = []
    for raw in text.split(","):
        raw = raw.strip()
        if not raw:
            continue
        if raw.startswith("-"):
            exclude.append(_check_path(raw[1:]))
        else:
            include.append(_check_path(raw.removeprefix("+")))
    return FieldsSpec(tuple(include), tuple(exclude))


def parse_fields_body(
    include: list[str] | None, exclude: list[str] | None, include_given: bool = True
) -> FieldsSpec:
    """Parse the POST form; *include_given* tells a missing ``include`` from a null one."""
    return FieldsSpec(
        tuple(_check_path(p) for p in include or ()) if include_given else None,
        tuple(_check_path(p) for p in exclude or ()),
    )


def _get(doc: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    node: Any = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _put(doc: dict[str, Any], path: list[str], value: Any) -> None:
    node = doc
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = copy.deepcopy(value)


def _drop(doc: dict[str, Any], path: list[str]) -> None:
    node: Any = doc
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _time_paths(item: dict[str, Any]) -> tuple[str, ...]:
    """The item's time: ``properties.datetime``, with start and end when it is null."""
    props = item.get("properties")
    if isinstance(props, dict) and props.get("datetime") is None:
        return (
            "properties.datetime",
            "properties.start_datetime",
            "properties.end_datetime",
        )
    return ("properties.datetime",)


def _within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent + ".")


def apply_fields(item: dict[str, Any], spec: FieldsSpec | None) -> dict[str, Any]:
    """Return *item* reduced to the fields *spec* asks for (the item itself when None)."""
    if spec is None:
        return item
    include = spec.include
    if include is None and spec.exclude:  # POST: exclude without include
        out = copy.deepcopy(item)
        include = ()
    else:
        include = include or ()
        base = (*MINIMAL, *include) if include else DEFAULT_INCLUDE
        if not include or any(_within(path, "properties") for path in include):
            base = (*base, *_time_paths(item))  # properties carry the item's time
        out = {}
        for path in base:
            found, value = _get(item, path.split("."))
            if found:
                _put(out, path.split("."), value)
    for path in spec.exclude:
        if path in include or path in ALWAYS_KEPT:
            continue  # a path in both lists is included
        _drop(out, path.split("."))
        for kept in include:  # a more specific include wins over this exclude
            if _within(kept, path) and kept != path:
                found, value = _get(item, kept.split("."))
                if found:
                    _put(out, kept.split("."), value)
    return out


def _sort_key(field: str, descending: bool) -> SortKey:
    name = q.normalise(field.strip())
    allowed = q.sortable()
    if name not in allowed:
        raise InputError(
            f"parameter 'sortby': cannot sort by {field[:60]!r}; sortable: {', '.join(allowed)}"
        )
    return SortKey(name, descending, q.sort_kind(name))


def parse_sortby_text(text: str | None) -> tuple[SortKey, ...]:
    """Parse the GET form ``-properties.datetime,+id``."""
    if text is None or not text.strip():
        return ()
    keys: list[SortKey] = []
    for raw in text.split(","):
        raw = raw.strip()
        if not raw:
            raise InputError("parameter 'sortby': empty sort field")
        descending = raw.startswith("-")
        keys.append(_sort_key(raw.lstrip("+-"), descending))
    return tuple(keys)


def parse_sortby_body(items: list[dict[str, Any]] | str | None) -> tuple[SortKey, ...]:
    """Parse the POST form ``[{"field": "properties.datetime", "direction": "desc"}]``."""
    if items is None:
        return ()
    if isinstance(items, str):
        return parse_sortby_text(items)
    keys: list[SortKey] = []
    for entry in items:
        field, direction = entry.get("field"), entry.get("direction", "asc")
        if not isinstance(field, str) or not field:
            raise InputError("parameter 'sortby': each entry needs a 'field' string")
        if direction not in ("asc", "desc"):
            raise InputError(
                f"parameter 'sortby': direction must be asc or desc, got {direction!r}"
            )
        keys.append(_sort_key(field, direction == "desc"))
    return tuple(keys)
