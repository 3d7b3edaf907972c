"""The hub's write lock: one publisher at a time, and no clean-up under a cube being written.

Ingest, derived results and STAC transactions on cube collections hold it while they write
and publish a cube; ``sco verify --clean`` holds it while it removes leftovers.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spaceclimate.errors import ConflictError


@contextmanager
def hub_lock(home: Path, timeout: float = 600.0) -> Iterator[None]:
    """Hold the hub's write lock (one publisher at a time), waiting up to *timeout* seconds."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / "ingest.lock").open("w") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() > deadline:
                    raise ConflictError("another ingest holds the hub's lock") from exc
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
