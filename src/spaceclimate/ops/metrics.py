"""Prometheus metrics of the API, one set a process, aggregated across workers when served.

Under ``sco serve`` (any number of workers) ``PROMETHEUS_MULTIPROC_DIR`` names a folder where
every worker writes its values (:mod:`spaceclimate.ops.serving`); ``/metrics``, answered by
whichever worker, sums them over all workers. Without it (an application made in-process,
as the tests do) the values are this process's. Job queue depth and the collection count
come from the database at each scrape, so every worker reports the same.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from spaceclimate.db import schema
from spaceclimate.db.schema import jobs as jobs_table

#: Job states (OGC API Processes), each reported even when no job has it.
JOB_STATES = ("accepted", "running", "successful", "failed", "dismissed")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def multiprocess() -> bool:
    """Whether metrics are written to a folder shared by worker processes."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


@dataclass(frozen=True)
class HubMetrics:
    """The metrics a process updates."""

    registry: CollectorRegistry | None
    requests: Counter
    latency: Histogram
    response_bytes: Counter
    rate_limited: Counter
    shed: Counter
    processes: Gauge


_METRICS: HubMetrics | None = None
_LOCK = threading.Lock()


def hub_metrics() -> HubMetrics:
    """Return this process's metrics (made once: a second copy would double-count)."""
    global _METRICS
    with _LOCK:
        if _METRICS is None:
            _METRICS = _make_metrics()
        return _METRICS


def _make_metrics() -> HubMetrics:
    shared = multiprocess()
    registry = None if shared else CollectorRegistry()
    metrics = HubMetrics(
        registry=registry,
        requests=Counter(
            "sco_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        ),
        latency=Histogram(
            "sco_http_request_duration_seconds",
            "Time to answer a request (to its last byte), by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        response_bytes=Counter(
            "sco_http_response_bytes",
            "Bytes of response bodies sent, by route template",
            ["route"],
            registry=registry,
        ),
        rate_limited=Counter(
            "sco_rate_limited_requests",
            "Requests refused with 429, by kind (read, write)",
            ["kind"],
            registry=registry,
        ),
        shed=Counter(
            "sco_requests_shed",
            "Requests refused by admission control, by reason (busy: 503 with the queue full "
            "or waited out; heavy: 503, the heavy requests at their cap; client_heavy: 429)",
            ["reason"],
            registry=registry,
        ),
        processes=Gauge(
            "sco_api_processes",
            "API worker processes alive",
            registry=registry,
            multiprocess_mode="livesum",
        ),
    )
    return metrics


def process_started() -> None:
    """Count this process among the live API workers (at application start-up)."""
    hub_metrics().processes.set(1)


def process_stopped() -> None:
    """Stop counting this process (at shut-down; a killed worker is counted until restart)."""
    hub_metrics().processes.set(0)
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(os.getpid())


class DatabaseCollector(Collector):
    """Job queue depth by state and the number of collections, read at scrape time."""

    def __init__(self, jobs_engine: Engine, catalog_engine: Engine | None) -> None:
        self.jobs_engine = jobs_engine
        self.catalog_engine = catalog_engine

    def collect(self) -> Iterator[Metric]:
        """Yield the gauges (nothing when the database does not answer)."""
        jobs = GaugeMetricFamily("sco_jobs", "Jobs by state (from the database)", labels=["state"])
        counts = dict.fromkeys(JOB_STATES, 0)
        try:
            with self.jobs_engine.connect() as conn:
                query = select(jobs_table.c.status, func.count()).group_by(jobs_table.c.status)
                for state, n in conn.execute(query):
                    counts[str(state)] = int(n)
        except Exception:  # noqa: BLE001 - a scrape must not fail with the database
            return
        for state, n in counts.items():
            jobs.add_metric([state], n)
        yield jobs
        if self.catalog_engine is None:
            return
        try:
            with self.catalog_engine.connect() as conn:
                n = conn.execute(select(func.count()).select_from(schema.collections)).scalar()
        except Exception:  # noqa: BLE001
            return
        yield GaugeMetricFamily(
            "sco_collections", "Published collections (from the database)", value=int(n or 0)
        )


def render(ctx: Any) -> bytes:
    """Return the exposition text of every metric (all workers' when shared)."""
    metrics = hub_metrics()
    if metrics.registry is None:
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
    else:
        registry = metrics.registry
    database = CollectorRegistry()
    database.register(DatabaseCollector(ctx.jobs.engine, getattr(ctx.catalog, "engine", None)))
    return bytes(generate_latest(registry) + generate_latest(database))
