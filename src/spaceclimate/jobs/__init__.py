"""Asynchronous processing: jobs kept in the catalog database, run by job runners.

The database is the queue: any API worker (or ``sco jobs run``) claims accepted jobs
atomically, so jobs survive restarts and several workers share them. See
:mod:`spaceclimate.jobs.store` for the states and :mod:`spaceclimate.jobs.runner` for
execution, progress, cancellation, time limits and recovery after a crash. What a job does
is not known here: the runner is given an executor (:data:`~spaceclimate.jobs.env.Executor`)
by the layer that knows the kinds of work.
"""

from __future__ import annotations

from spaceclimate.jobs.env import Executor, JobCancelled, JobEnv, JobTimeLimit
from spaceclimate.jobs.store import JobRecord, JobStore

__all__ = ["Executor", "JobCancelled", "JobEnv", "JobRecord", "JobStore", "JobTimeLimit"]
