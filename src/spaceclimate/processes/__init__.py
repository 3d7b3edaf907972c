"""Processes: the analytics of :mod:`spaceclimate.compute` as OGC API Processes.

Descriptions and inputs are data (``processes.yaml``); :mod:`.library` runs them; the same
definitions serve the HTTP API (``/processes``), the job runner and ``sco compute``.
"""

from __future__ import annotations

from typing import Any

from spaceclimate.errors import NotFoundError
from spaceclimate.jobs.env import JobEnv
from spaceclimate.plugins import list_plugins
from spaceclimate.processes.base import Process, load_processes

__all__ = [
    "Process",
    "execute",
    "execute_job",
    "get_process",
    "list_job_kinds",
    "list_processes",
]

#: Kinds of jobs that are not processes (``ingest``): ``run(env, inputs) -> outputs``. They are
#: not listed at ``/processes``; their jobs are created by their own endpoints.
JOB_KINDS_GROUP = "spaceclimate.job_kinds"


def list_processes() -> dict[str, Process]:
    """Return every process by id."""
    return load_processes()


def get_process(process_id: str) -> Process:
    """Return one process; NotFoundError naming the known ones."""
    processes = load_processes()
    if process_id not in processes:
        raise NotFoundError(
            f"no process {process_id!r}; known: {', '.join(processes)}", known=list(processes)
        )
    return processes[process_id]


def execute(process: Process, env: JobEnv, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run *process* with validated *inputs*; return its outputs."""
    from spaceclimate.processes.library import RUNNERS

    return RUNNERS[process.run](env, inputs)


def list_job_kinds() -> dict[str, Any]:
    """Return the kinds of jobs that are not processes, by name."""
    return list_plugins(JOB_KINDS_GROUP)


def execute_job(kind: str, env: JobEnv, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run a queued job: a job kind of its own (ingest) or a process (inputs validated)."""
    run = list_job_kinds().get(kind)
    if run is not None:
        outputs: dict[str, Any] = run(env, inputs)
        return outputs
    process = get_process(kind)
    return execute(process, env, process.validate(inputs))
