"""Zarr v3 cubes: chunking, atomic writes, checksums and clean-up of leftovers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spaceclimate.store.cube import CubeStore, plan_chunks
from spaceclimate.store.remote import CubeLocation, ObjectPath

if TYPE_CHECKING:
    from spaceclimate.config import Settings

__all__ = ["CubeLocation", "CubeStore", "ObjectPath", "open_store", "plan_chunks"]


def open_store(settings: Settings) -> CubeStore:
    """Return the hub's cube store: an object store when ``SCO_STORE_URL`` names one (staged
    under ``SCO_HOME``), else the local folder (``SCO_STORE_URL``, ``SCO_STORE_PATH`` or
    ``SCO_HOME/store``)."""
    if settings.store_is_remote and settings.store_url:
        from spaceclimate.store.objects import ObjectCubeStore

        return ObjectCubeStore(
            settings.store_url,
            dict(settings.store_options),
            settings.resolved_home,
            settings.store_cleanup_grace,
        )
    return CubeStore(settings.resolved_store_path)
