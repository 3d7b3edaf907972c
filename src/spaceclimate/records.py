"""Records every layer shares: a source file that went into a version, and a version.

They sit at the bottom of the package so that the harmonising step (which lists its
sources), publishing and the catalog backends speak of the same things without importing
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SourceRecord:
    """One source file that went into a version: its name, sha256, size and item id."""

    name: str
    sha256: str
    size: int
    item_id: str


@dataclass(frozen=True)
class VersionRecord:
    """One published, immutable version of a collection."""

    collection_id: str
    version: int
    cube_href: str  # cube path relative to the store root, e.g. "ukmo-ostia-sst-daily/3f2a.zarr"
    fingerprint: str  # sha256 over the recipe digest and the sorted source sha256s
    recipe_digest: str
    created: datetime
    sources: tuple[SourceRecord, ...]
    cube_checksums: dict[str, str] = field(default_factory=dict)  # relative file path -> sha256
