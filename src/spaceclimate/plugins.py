"""One small loader over entry points, used by every extension point.

Groups: ``spaceclimate.readers``, ``spaceclimate.sources``, ``spaceclimate.catalog_backends``,
``spaceclimate.api_routers``, ``spaceclimate.indicators``. Built-ins register through the same
groups in ``pyproject.toml``. A plugin that fails to load is a warning, not a crash.
"""

from __future__ import annotations

import warnings
from functools import cache
from importlib.metadata import entry_points
from typing import Any


@cache
def list_plugins(group: str) -> dict[str, Any]:
    """Return ``{name: loaded object}`` for every entry point of *group*, sorted by name.

    Duplicated names keep the first one found and warn; a plugin that raises on import
    is skipped with a warning.
    """
    found: dict[str, Any] = {}
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        if ep.name in found:
            warnings.warn(f"duplicate {group} plugin {ep.name!r} ignored", stacklevel=2)
            continue
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the hub
            warnings.warn(f"{group} plugin {ep.name!r} failed to load: {exc}", stacklevel=2)
    return found


def get_plugin(group: str, name: str) -> Any:
    """Return the plugin *name* of *group*, or raise ``KeyError`` naming the known ones."""
    plugins = list_plugins(group)
    if name not in plugins:
        raise KeyError(f"no {group} plugin {name!r}; known: {', '.join(plugins) or 'none'}")
    return plugins[name]
