"""Jobs that are not processes: the kinds of work only the hub queues (``ingest``).

A kind is a function ``run(env, inputs) -> outputs`` named by its import path, loaded when a
job of that kind runs. Kinds are not listed at ``/processes`` and cannot be executed through
it: their jobs are created by their own endpoints (``POST /ingest``), which check who asks.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from spaceclimate.processes.base import ProcessEnv

JobKind = Callable[[ProcessEnv, dict[str, Any]], dict[str, Any]]

#: Job kind (the job's ``processID``) -> ``module:function`` that runs it.
JOB_KINDS = {"ingest": "spaceclimate.jobs.ingest:run_ingest_job"}


def get_job_kind(name: str) -> JobKind | None:
    """Return the function running jobs of kind *name*, or None when it is a process."""
    target = JOB_KINDS.get(name)
    if target is None:
        return None
    module, _sep, attr = target.partition(":")
    run: JobKind = getattr(import_module(module), attr)
    return run
