"""Symbolic links in the cube store: never written, never followed.

The hub writes plain files and folders only, so a symbolic link below the store's root
(in a cube, a collection folder or staging) was put there by something else, and following
it would serve or hash whatever it points at (``/etc``, another hub's cubes). ``sco verify``
reports every one (:func:`find_symlinks`); reading a cube refuses one whose folder, or
anything inside it, is a link (:class:`LinkGuard`). The store's root itself may be a link:
it is the operator's choice of where the store lives.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from spaceclimate.errors import IntegrityError

log = logging.getLogger("spaceclimate.store")


def links_inside(folder: Path) -> list[Path]:
    """Return every symbolic link below *folder* (not *folder* itself), following none.

    Directory entries tell whether they are links without a system call each, so a cube of
    thousands of chunk files is walked in milliseconds.
    """
    found: list[Path] = []
    if not folder.is_dir():
        return found
    pending = [str(folder)]
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except OSError:  # vanished or unreadable meanwhile: nothing to follow there
            continue
        with entries:
            for entry in entries:
                if entry.is_symlink():
                    found.append(Path(entry.path))
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
    return sorted(found)


def link_on_the_way(path: Path, below: Path) -> Path | None:
    """Return the first symbolic link among the folders from *below* (excluded) to *path*
    (included), or None: where a path inside *below* would leave it."""
    if not path.is_relative_to(below):
        return None
    step = below
    for part in path.relative_to(below).parts:
        step = step / part
        if step.is_symlink():
            return step
    return None


def find_symlinks(folder: Path, below: Path | None = None) -> list[Path]:
    """Return the symbolic links at or inside *folder*, following none.

    *below*, an ancestor of *folder*, adds the first link between it and *folder* (a folder
    the path to *folder* passes through): what lies beyond a link is not looked at.
    """
    first = link_on_the_way(folder, below) if below is not None else None
    if first is not None:
        return [first]
    if folder.is_symlink():
        return [folder]
    return links_inside(folder)


class LinkGuard:
    """Refuse to read cubes that hold (or are reached through) a symbolic link.

    A cube found clean is remembered (published cubes never change), so each is walked once
    a process.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._clean: set[Path] = set()
        self._lock = threading.Lock()

    def check(self, cube: Path, href: str) -> Path:
        """Return *cube* when neither it nor anything in it is a link (IntegrityError else)."""
        with self._lock:
            if cube in self._clean:
                return cube
        self._refuse(find_symlinks(cube, below=self.root), href)
        if cube.is_dir():
            with self._lock:
                self._clean.add(cube)
        return cube

    def check_reach(self, cube: Path, href: str) -> Path:
        """Return *cube* when no folder from the store's root to it (itself included) is a
        link: for readers that refuse the links inside the cube file by file
        (:mod:`spaceclimate.api.zarr_http`)."""
        link = link_on_the_way(cube, self.root)
        self._refuse([link] if link is not None else [], href)
        return cube

    def _refuse(self, links: list[Path], href: str) -> None:
        if not links:
            return
        where = links[0].relative_to(self.root).as_posix()
        log.warning("cube %s refused: %s is a symbolic link", href, links[0])
        raise IntegrityError(
            f"cube {href!r} is not served: {where} in the store is a symbolic link "
            "(the hub never writes one; 'sco verify' lists them)"
        )
