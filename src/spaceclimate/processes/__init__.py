"""Processes: the analytics of :mod:`spaceclimate.compute` as OGC API Processes.

Descriptions and inputs are data (``processes.yaml``); :mod:`.library` runs them; the same
definitions serve the HTTP API (``/processes``), the job runner and ``sco compute``.
"""

from __future__ import annotations

from typing import Any

from spaceclimate.errors import NotFoundError
from spaceclimate.processes.base import (
    JobCancelled,
    JobTimeLimit,
    Process,
    ProcessEnv,
    load_processes,
)

__all__ = [
    "JobCancelled",
    "JobTimeLimit",
    "Process",
    "ProcessEnv",
    "execute",
    "get_process",
    "list_processes",
]


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


def execute(process: Process, env: ProcessEnv, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run *process* with validated *inputs*; return its outputs."""
    from spaceclimate.processes.library import RUNNERS

    return RUNNERS[process.run](env, inputs)
