"""Running work on an existing ``dask.distributed`` cluster (``SCO_DASK_SCHEDULER``).

By default every process computes with Dask threads of its own. With
``SCO_DASK_SCHEDULER=tcp://host:port`` two kinds of work go to the cluster instead:

* ingest harmonises its source files there (one task a file; see :mod:`spaceclimate.ingest`),
  so the workers need to read the source files at the same paths (a shared file system);
* analytics (processes run as jobs or synchronously) compute their results there
  (:func:`compute_on_cluster`), reading the cubes from the store, so the workers need to reach
  it too (the same folder, or the same object store with the same options).

The client is opened once per process and scheduler address, and is never made Dask's
default scheduler: the API's own small reads (EDR, tiles, downloads) stay in the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import dask

from spaceclimate.errors import UnavailableError

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")

#: Seconds to wait for the scheduler when connecting.
CONNECT_TIMEOUT = 20.0
#: Seconds between two progress reports while a computation runs on the cluster.
POLL_SECONDS = 0.5

_CLIENTS: dict[str, Client] = {}
_LOCK = threading.Lock()


def dask_client(address: str | None) -> Client | None:
    """Return this process's client of the scheduler at *address* (None: compute locally).

    UnavailableError (503) names the address when the scheduler does not answer.
    """
    if not address:
        return None
    with _LOCK:
        client = _CLIENTS.get(address)
        if client is not None and client.status in ("running", "connecting"):
            return client
        from distributed import Client

        try:
            client = Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise UnavailableError(
                f"SCO_DASK_SCHEDULER: no Dask scheduler answers at {address} ({exc})"
            ) from exc
        _CLIENTS[address] = client
        return client


def close_clients() -> None:
    """Close every client this process opened (tests and shutdown)."""
    with _LOCK:
        clients = list(_CLIENTS.values())
        _CLIENTS.clear()
    for client in clients:
        client.close()


def compute_on_cluster(client: Client, obj: T, progress: Callable[[int, int], None]) -> T:
    """Compute a lazy xarray/dask object on the cluster and return it computed.

    The object's chunks are persisted on the workers; ``progress(done, total)`` is called
    with the number of finished output chunks every :data:`POLL_SECONDS` (it may raise to
    stop: the chunks are then cancelled on the cluster, running tasks included, and the
    exception goes on). An object holding no Dask arrays is computed here.
    """
    from distributed import futures_of

    if not dask.is_dask_collection(obj):
        return _compute_here(obj)
    persisted = client.persist(obj)
    futures = futures_of(persisted)
    try:
        total = len(futures)
        while True:
            done = sum(f.done() for f in futures)
            progress(done, total)
            if done == total:
                break
            waiting = next((f for f in futures if not f.done()), None)
            if waiting is None:  # all finished since they were counted
                continue
            try:  # raises at once the task's own exception if it failed
                waiting.result(timeout=POLL_SECONDS)
            except TimeoutError:
                pass
        for future in futures:
            if future.status == "error":
                future.result()  # raises the task's own exception
        result: T = dask.compute(persisted, scheduler=client)[0]
        return result
    except BaseException:
        client.cancel(futures, force=True)
        raise
    finally:
        del persisted, futures


def _compute_here(obj: Any) -> Any:
    compute = getattr(obj, "compute", None)
    return compute() if callable(compute) else obj
