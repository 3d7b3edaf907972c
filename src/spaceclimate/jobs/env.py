"""What a running job is given, and how it learns it must stop.

Every job (an analytics process or an ingest) runs with a :class:`JobEnv`: the hub's
settings, catalog and cube store, a progress reporter and a deadline. Reporting progress is
also where a job learns it was dismissed (:class:`JobCancelled`) or ran out of time
(:class:`JobTimeLimit`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spaceclimate.errors import SCOError


class JobCancelled(SCOError):
    """The job was dismissed while it ran."""

    status = 409
    title = "Dismissed"


class JobTimeLimit(SCOError):
    """The job ran longer than its time limit."""

    status = 408
    title = "Time limit exceeded"


Reporter = Callable[[float, str], None]


@dataclass
class JobEnv:
    """What a running job may use: the hub's catalog and store, progress and limits.

    ``report(fraction, message)`` records progress (0..1) and raises :class:`JobCancelled`
    or :class:`JobTimeLimit` when the job must stop.
    """

    settings: Any
    catalog: Any
    store: Any
    report: Reporter = field(default=lambda _f, _m: None)
    deadline: float = math.inf
    job_id: str | None = None
    #: Who submitted the job (``key:<id>``, ``anonymous``, or None on the hub's machine).
    submitter: str | None = None

    def check(self) -> None:
        """Raise JobTimeLimit when the deadline passed."""
        if time.monotonic() > self.deadline:
            raise JobTimeLimit("the job ran longer than its time limit")


#: Runs one job: ``execute(kind, env, inputs) -> outputs`` (JSON), where *kind* is the job's
#: ``processID``. The layer that knows the kinds of work (:mod:`spaceclimate.processes`)
#: gives it to the runner.
Executor = Callable[[str, JobEnv, dict[str, Any]], dict[str, Any]]
