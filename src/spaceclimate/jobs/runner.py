"""Running jobs: threads that claim queued jobs from the database and execute them.

A runner starts by recovering jobs whose server died (requeued once, then failed), then
polls for accepted jobs. A job reports progress as it goes; a report is also where a running
job learns it was dismissed (it stops and ends ``dismissed``) or ran out of time (it ends
``failed``). Every API process runs a runner (``SCO_JOB_WORKERS`` threads, default 1);
``sco jobs work`` runs one on its own.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from spaceclimate.errors import SCOError
from spaceclimate.jobs.env import Executor, JobCancelled, JobEnv, JobTimeLimit
from spaceclimate.jobs.store import JobRecord, JobStore, owner_id

log = logging.getLogger("spaceclimate.jobs")

#: Fault injection for the tests of cancellation and crash recovery: seconds a job sleeps at
#: each progress report, so that it is reliably caught while running.
DELAY_ENV = "SCO_JOB_DELAY"


def run_job(
    job: JobRecord,
    jobs: JobStore,
    settings: Any,
    catalog: Any,
    store: Any,
    execute: Executor,
) -> JobRecord:
    """Execute one claimed job with *execute* to its end, record the outcome, return it."""
    deadline = time.monotonic() + job.time_limit
    delay = float(os.environ.get(DELAY_ENV, "0") or 0)

    def report(fraction: float, message: str) -> None:
        if delay:
            time.sleep(delay)
        if time.monotonic() > deadline:
            raise JobTimeLimit(f"time limit of {job.time_limit:g} s exceeded")
        if jobs.report(job.id, round(100 * fraction), message):
            raise JobCancelled("dismissed while running")

    env = JobEnv(settings, catalog, store, report, deadline, job.id, job.submitter)
    try:
        outputs = execute(job.process_id, env, job.inputs)
    except JobCancelled:
        jobs.finish(job.id, "dismissed", "dismissed while running")
    except JobTimeLimit as exc:
        jobs.finish(job.id, "failed", str(exc))
    except SCOError as exc:
        jobs.finish(job.id, "failed", exc.message, {"error": exc.title, "status": exc.status})
    except Exception as exc:  # noqa: BLE001 - a job's bug must not kill the runner
        log.exception("job %s (%s) failed", job.id, job.process_id)
        # the exception's text is the server's (paths, addresses): it goes to the log only
        jobs.finish(
            job.id, "failed", f"unexpected {type(exc).__name__} (the hub's log has the details)"
        )
    else:
        jobs.finish(job.id, "successful", "done", outputs)
    return jobs.get(job.id)


class JobRunner:
    """Background threads executing queued jobs for one process."""

    def __init__(
        self,
        jobs: JobStore,
        settings: Any,
        catalog: Any,
        store: Any,
        execute: Executor,
        threads: int = 1,
        poll: float = 0.5,
    ) -> None:
        self.jobs = jobs
        self.execute = execute
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.threads = threads
        self.poll = poll
        self.owner = owner_id()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        """Recover interrupted jobs, then start the worker and heartbeat threads."""
        for job_id in self.jobs.recover():
            log.warning("recovered interrupted job %s", job_id)
        for i in range(self.threads):
            worker = threading.Thread(target=self._work, name=f"sco-job-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)
        beat = threading.Thread(target=self._beat, name="sco-job-heartbeat", daemon=True)
        beat.start()
        self._workers.append(beat)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to stop after their current job; wait up to *timeout* seconds."""
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.jobs.claim_next(self.owner)
            except Exception:  # noqa: BLE001 - database hiccup: retry later
                log.exception("could not claim a job")
                job = None
            if job is None:
                self._stop.wait(self.poll)
                continue
            run_job(job, self.jobs, self.settings, self.catalog, self.store, self.execute)

    def _beat(self) -> None:
        while not self._stop.wait(10.0):
            try:
                self.jobs.heartbeat(self.owner)
                self.jobs.recover()
            except Exception:  # noqa: BLE001
                log.exception("heartbeat failed")
