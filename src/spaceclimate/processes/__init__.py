"""Processes: the analytics operations as OGC API Processes, jobs and ``sco compute``.

The operations are declared once, in :mod:`spaceclimate.compute.registry` (built-ins in
:mod:`spaceclimate.compute.operations`, plugins through the ``spaceclimate.operations`` entry
points). This package runs them in the hub: it opens their input collections, computes with
progress and turns their results into outputs (:mod:`.outputs`), estimates what they read
(:mod:`.estimate`) and describes them for OGC clients (:mod:`.describe`).
"""

from __future__ import annotations

from typing import Any

from spaceclimate.compute.registry import get_operation, list_operations
from spaceclimate.jobs.env import JobEnv
from spaceclimate.plugins import list_plugins
from spaceclimate.processes.outputs import run_operation

__all__ = [
    "execute_job",
    "get_operation",
    "list_job_kinds",
    "list_operations",
    "run_operation",
]

#: Kinds of jobs that are not processes (``ingest``): ``run(env, inputs) -> outputs``. They are
#: not listed at ``/processes``; their jobs are created by their own endpoints.
JOB_KINDS_GROUP = "spaceclimate.job_kinds"


def list_job_kinds() -> dict[str, Any]:
    """Return the kinds of jobs that are not processes, by name."""
    return list_plugins(JOB_KINDS_GROUP)


def execute_job(kind: str, env: JobEnv, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run a queued job: a job kind of its own (ingest) or an operation (inputs validated)."""
    run = list_job_kinds().get(kind)
    if run is not None:
        outputs: dict[str, Any] = run(env, inputs)
        return outputs
    operation = get_operation(kind)
    return run_operation(operation, env, operation.validate(inputs))
