"""Files a cube writer wrote, with their checksums taken from the bytes as written.

A cube's checksums are recorded with its version (``sco verify`` compares them with the
files later). For the chunk files the writers encode themselves, the digest is computed from
the encoded bytes on their way to the file, in the writing threads, so publishing does not
read the whole cube back to hash it; every other file (metadata, coordinates written by
zarr) is hashed from disk as before. A recorded digest is used only while the file still
has the size it was written with.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path


class WrittenFiles:
    """The chunk files written under *root*: ``{relative path: (sha256, size)}``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, tuple[str, int]] = {}

    def write(self, path: Path, parts: Iterable[bytes]) -> None:
        """Write *parts* one after the other into the file *path*, recording its digest."""
        h = hashlib.sha256()  # frees the GIL on large buffers, as the write does
        size = 0
        with path.open("wb") as fh:
            for part in parts:
                fh.write(part)
                h.update(part)
                size += len(part)
        self.files[path.relative_to(self.root).as_posix()] = (h.hexdigest(), size)

    def digest(self, relative: str, path: Path) -> str | None:
        """The recorded digest of a file, when it was written here and has not changed size."""
        known = self.files.get(relative)
        if known is None:
            return None
        digest, size = known
        return digest if os.stat(path).st_size == size else None
