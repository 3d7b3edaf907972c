"""Job state in the catalog database (table ``sco_jobs``).

States follow OGC API Processes: ``accepted`` (queued) → ``running`` → ``successful`` |
``failed`` | ``dismissed``. A running job records its owner (``host:pid``) and a heartbeat;
when the owner dies (a killed server) the next runner to start requeues the job once, then
fails it, so no job is ever silently lost.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Engine,
    insert,
    select,
    update,
)

from spaceclimate.clock import now_iso
from spaceclimate.db import migrate
from spaceclimate.db.engine import create_db_engine
from spaceclimate.db.schema import jobs
from spaceclimate.errors import ConflictError, NotFoundError

FINAL = ("successful", "failed", "dismissed")
#: Seconds without a heartbeat after which a running job's owner counts as dead.
HEARTBEAT_TIMEOUT = 60.0
MAX_ATTEMPTS = 2


def owner_id() -> str:
    """Identify this process: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str | None) -> bool | None:
    """True/False for an owner on this host (by pid), None when it runs elsewhere."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


@dataclass
class JobRecord:
    """One job as stored."""

    id: str
    process_id: str
    status: str
    message: str
    progress: int
    created: str
    updated: str
    inputs: dict[str, Any]
    time_limit: float
    started: str | None = None
    finished: str | None = None
    results: dict[str, Any] | None = None
    owner: str | None = None
    heartbeat: float | None = None
    cancel_requested: bool = False
    attempts: int = 0
    submitter: str | None = None
    access_digest: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """True once the job reached a final state."""
        return self.status in FINAL


class JobStore:
    """Create, claim, update and list jobs in the database at *url*."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_db_engine(url)
        migrate.upgrade(self.engine)  # the job table comes with the catalog's migrations (0003)

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()

    @staticmethod
    def _record(row: Any) -> JobRecord:
        return JobRecord(
            id=row.id,
            process_id=row.process_id,
            status=row.status,
            message=row.message or "",
            progress=int(row.progress or 0),
            created=row.created,
            updated=row.updated,
            inputs=dict(row.inputs or {}),
            time_limit=float(row.time_limit),
            started=row.started,
            finished=row.finished,
            results=dict(row.results) if row.results is not None else None,
            owner=row.owner,
            heartbeat=row.heartbeat,
            cancel_requested=bool(row.cancel_requested),
            attempts=int(row.attempts or 0),
            submitter=row.submitter,
            access_digest=row.access_digest,
        )

    # -- creating and reading ---------------------------------------------------------------
    def create(
        self,
        process_id: str,
        inputs: dict[str, Any],
        time_limit: float,
        job_id: str | None = None,
        owner: str | None = None,
        submitter: str | None = None,
        access_digest: str | None = None,
    ) -> JobRecord:
        """Queue a new job (with the id *job_id* when given: files prepared for it); return it.

        With *owner* the job is created already running for that owner (a synchronous
        execution): it is never queued, so no job worker can claim it first. *submitter*
        (``key:<id>``, ``anonymous``) and *access_digest* (the SHA-256 of an anonymous job's
        access token) say who may see and dismiss it through the API.
        """
        job_id = job_id or uuid.uuid4().hex
        stamp = now_iso()
        json.dumps(inputs)  # inputs must be JSON
        state: dict[str, Any] = {"status": "accepted", "message": "queued", "attempts": 0}
        if owner is not None:
            state = {
                "status": "running",
                "message": "running",
                "attempts": 1,
                "owner": owner,
                "started": stamp,
                "heartbeat": time.time(),
            }
        with self.engine.begin() as conn:
            conn.execute(
                insert(jobs).values(
                    id=job_id,
                    process_id=process_id,
                    progress=0,
                    created=stamp,
                    updated=stamp,
                    inputs=inputs,
                    time_limit=float(time_limit),
                    cancel_requested=False,
                    submitter=submitter,
                    access_digest=access_digest,
                    **state,
                )
            )
        return self.get(job_id)

    def get(self, job_id: str) -> JobRecord:
        """Return one job; NotFoundError when unknown."""
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFoundError(f"no job {job_id!r}")
        return self._record(row)

    def list_jobs(
        self,
        status: str | None = None,
        process_id: str | None = None,
        limit: int = 100,
        submitter: str | None = None,
    ) -> list[JobRecord]:
        """Return jobs, newest first (only those of *submitter* when given)."""
        query = select(jobs).order_by(jobs.c.created.desc()).limit(limit)
        if submitter is not None:
            query = query.where(jobs.c.submitter == submitter)
        if status:
            query = query.where(jobs.c.status == status)
        if process_id:
            query = query.where(jobs.c.process_id == process_id)
        with self.engine.connect() as conn:
            return [self._record(r) for r in conn.execute(query)]

    # -- running ----------------------------------------------------------------------------
    def claim_next(self, owner: str) -> JobRecord | None:
        """Atomically move the oldest accepted job to running for *owner*; return it."""
        with self.engine.begin() as conn:
            job_id = conn.execute(
                select(jobs.c.id)
                .where(jobs.c.status == "accepted")
                .order_by(jobs.c.created)
                .limit(1)
            ).scalar()
            if job_id is None:
                return None
            stamp = now_iso()
            done = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "accepted")
                .values(
                    status="running",
                    owner=owner,
                    started=stamp,
                    updated=stamp,
                    heartbeat=time.time(),
                    message="running",
                    attempts=jobs.c.attempts + 1,
                )
            )
            if done.rowcount != 1:
                return None
        return self.get(job_id)

    def report(self, job_id: str, progress: int, message: str) -> bool:
        """Record progress and a heartbeat; return True when cancellation was requested."""
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "running")
                .values(
                    progress=max(0, min(100, int(progress))),
                    message=message[:500],
                    updated=now_iso(),
                    heartbeat=time.time(),
                )
            )
            flag = conn.execute(select(jobs.c.cancel_requested).where(jobs.c.id == job_id)).scalar()
        return bool(flag)

    def heartbeat(self, owner: str) -> None:
        """Refresh the heartbeat of every running job of *owner*."""
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.owner == owner, jobs.c.status == "running")
                .values(heartbeat=time.time())
            )

    def finish(self, job_id: str, status: str, message: str, results: Any = None) -> None:
        """Move a job to a final state."""
        assert status in FINAL
        stamp = now_iso()
        values: dict[str, Any] = {
            "status": status,
            "message": message[:2000],
            "finished": stamp,
            "updated": stamp,
            "results": results,
        }
        if status == "successful":
            values["progress"] = 100
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def dismiss(self, job_id: str) -> JobRecord:
        """Cancel a job: queued ones at once, running ones at their next progress report."""
        job = self.get(job_id)
        with self.engine.begin() as conn:
            if job.status == "accepted":
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, jobs.c.status == "accepted")
                    .values(
                        status="dismissed",
                        message="dismissed before it started",
                        finished=now_iso(),
                        updated=now_iso(),
                    )
                )
            elif job.status == "running":
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id)
                    .values(cancel_requested=True, message="cancellation requested")
                )
            elif job.status in ("successful", "failed"):
                raise ConflictError(f"job {job_id} already ended ({job.status})")
        return self.get(job_id)

    def recover(self) -> list[str]:
        """Requeue (once) or fail running jobs whose owner died; return their ids."""
        recovered: list[str] = []
        with self.engine.begin() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.status == "running")).all()
            for row in rows:
                alive = _owner_alive(row.owner)
                stale = row.heartbeat is None or time.time() - row.heartbeat > HEARTBEAT_TIMEOUT
                if alive is True or (alive is None and not stale):
                    continue
                stamp = now_iso()
                if row.cancel_requested:
                    values: dict[str, Any] = {
                        "status": "dismissed",
                        "message": "dismissed (its server stopped while it ran)",
                        "finished": stamp,
                    }
                elif (row.attempts or 0) < MAX_ATTEMPTS:
                    values = {
                        "status": "accepted",
                        "message": (
                            "requeued: its server stopped while it ran "
                            f"(attempt {row.attempts} of {MAX_ATTEMPTS})"
                        ),
                        "owner": None,
                        "progress": 0,
                    }
                else:
                    values = {
                        "status": "failed",
                        "message": (
                            "interrupted: its server stopped while it ran, "
                            f"{row.attempts} attempts; submit it again"
                        ),
                        "finished": stamp,
                    }
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == row.id, jobs.c.status == "running")
                    .values(updated=stamp, **values)
                )
                recovered.append(row.id)
        return recovered
