"""Creating the folders of chunk files once per writer rather than once per chunk."""

from __future__ import annotations

from pathlib import Path


class Folders:
    """The folders a writer has made (``mkdir`` is a system call and, when the folder
    exists, a raised and caught error: thousands of chunks share a few hundred folders)."""

    def __init__(self) -> None:
        self._made: set[Path] = set()

    def ensure(self, folder: Path) -> None:
        """Create *folder* and its parents unless this writer already did."""
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
