"""The fields and sort extensions: which parts of an item to return, and in which order.

Fields (``fields=id,properties.sco:ecv,-assets`` or ``{"include": [...], "exclude": [...]}``):

- no ``fields`` at all: the full item;
- ``fields`` given but empty: a minimal valid item (:data:`DEFAULT_INCLUDE`);
- only ``include``: those paths (plus ``id`` and ``type``, always kept);
- only ``exclude``: the full item without those paths (``id`` and ``type`` are kept);
- both: the included paths without the excluded ones; a path named in both is included, and
  the more specific of two nested paths wins (``properties`` with ``-properties.sco:ecv``
  drops one property; ``-properties`` with ``properties.datetime`` keeps one).

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
    "properties.datetime",
    "properties.start_datetime",
    "properties.end_datetime",
)


@dataclass(frozen=True)
class FieldsSpec:
    """Paths (dotted, e.g. ``properties.sco:ecv``) to include and exclude."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def to_body(self) -> dict[str, list[str]]:
        """Return the POST form."""
        return {"include": list(self.include), "exclude": list(self.exclude)}


def _check_path(path: str) -> str:
    path = path.strip()
    if not path or any(not part for part in path.split(".")):
        raise InputError(f"parameter 'fields': empty field name in {path!r}")
    return path


def parse_fields_text(text: str | None) -> FieldsSpec | None:
    """Parse the GET form ``a,+b,-c`` (None when absent)."""
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


def parse_fields_body(include: list[str] | None, exclude: list[str] | None) -> FieldsSpec:
    """Parse the POST form."""
    return FieldsSpec(
        tuple(_check_path(p) for p in include or ()),
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


def apply_fields(item: dict[str, Any], spec: FieldsSpec | None) -> dict[str, Any]:
    """Return *item* reduced to the fields *spec* asks for (the item itself when None)."""
    if spec is None:
        return item
    include = spec.include
    if not spec.include and not spec.exclude:
        include = DEFAULT_INCLUDE
    if include:
        out: dict[str, Any] = {}
        for path in (*ALWAYS_KEPT, *include):
            found, value = _get(item, path.split("."))
            if found:
                _put(out, path.split("."), value)
    else:
        out = copy.deepcopy(item)
    for path in spec.exclude:
        if path in include or path in ALWAYS_KEPT:
            continue
        _drop(out, path.split("."))
        for kept in include:  # a more specific include wins over this exclude
            if kept.startswith(path + "."):
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
