"""Ingest: source files to a published collection version, start to end, atomically.

- :mod:`.pipeline`: one ingest (source -> reader -> harmonise -> store -> catalog), the step
  ``sco ingest`` runs;
- :mod:`.remote`: the ingest job, for files sent over HTTP (``POST /ingest``) or fetched from
  URLs, run by a job runner.
"""

from __future__ import annotations

from spaceclimate.ingest.pipeline import Ingestor, IngestResult

__all__ = ["IngestResult", "Ingestor"]
