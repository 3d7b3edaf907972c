"""Publishing: the steps that make a new collection version visible, atomically.

- :mod:`.versions`: publish a cube and its records as one new version (ingest and derived
  results share it);
- :mod:`.transactions`: STAC transactions (create, replace, delete collections and items)
  as new immutable versions, each with its audit entry.
"""

from __future__ import annotations

from spaceclimate.publish.versions import CRASH_ENV, checkpoint, publish_version
from spaceclimate.store.lock import hub_lock

__all__ = ["CRASH_ENV", "checkpoint", "hub_lock", "publish_version"]
