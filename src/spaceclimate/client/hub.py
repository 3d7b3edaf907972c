"""The :class:`Hub` client: one object per remote hub, speaking its standard APIs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pystac
import xarray as xr

from spaceclimate.client.errors import raise_for_problem
from spaceclimate.client.operations import OperationInfo, Operations
from spaceclimate.client.retry import BusyRetryTransport

BBoxLike = Sequence[float]


def _join(values: Sequence[str] | str | None) -> str | None:
    if values is None:
        return None
    return values if isinstance(values, str) else ",".join(values)


def _bbox(bbox: BBoxLike | None) -> str | None:
    return None if bbox is None else ",".join(f"{float(v):g}" for v in bbox)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def search_datetime(text: str | None) -> str | None:
    """Return a ``datetime`` for STAC item search, plain dates made full instants.

    STAC item search takes RFC 3339 date-times only; the client also takes dates: a date
    alone is its whole day, a date that starts an interval its first second, one that ends
    it its last (``2021-12-01/2021-12-31`` is
    ``2021-12-01T00:00:00Z/2021-12-31T23:59:59Z``). Anything else is sent as it is.

    Parameters
    ----------
    text
        A date-time, a date, or an interval ``start/end`` of them (``..`` for an open end).

    Returns
    -------
    str or None
        What to send as the ``datetime`` parameter (None when *text* is None).
    """
    if text is None:
        return None
    parts = text.strip().split("/")
    if len(parts) == 1 and _DATE.fullmatch(parts[0]):
        return f"{parts[0]}T00:00:00Z/{parts[0]}T23:59:59Z"
    if len(parts) == 2:
        start, end = parts
        if _DATE.fullmatch(start):
            start = f"{start}T00:00:00Z"
        if _DATE.fullmatch(end):
            end = f"{end}T23:59:59Z"
        return f"{start}/{end}"
    return text


class Hub:
    """A remote spaceclimate hub.

    Parameters
    ----------
    url
        Base URL of the hub, e.g. ``http://127.0.0.1:8000``.
    timeout
        Seconds to wait for an answer.
    retries
        Times a request the hub refuses as busy (429/503 with ``Retry-After``) is sent again,
        after the wait it asks for, before :class:`HubBusy` is raised.
    """

    def __init__(self, url: str, timeout: float = 120.0, retries: int = 5) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            follow_redirects=True,
            transport=BusyRetryTransport(httpx.HTTPTransport(), retries=retries),
        )
        self._operations: dict[str, OperationInfo] | None = None

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __repr__(self) -> str:
        return f"Hub({self.url!r})"

    # -- plumbing ---------------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        # no params at all for a `next` link: httpx would replace its query string
        response = self._http.get(path, params=clean or None)
        raise_for_problem(response)
        return response

    def _json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self._get(path, params).json()
        assert isinstance(body, dict)
        return body

    # -- catalog ----------------------------------------------------------------------------
    def collections(
        self, *, q: str | None = None, ecv: str | None = None, agency: str | None = None
    ) -> list[pystac.Collection]:
        """Return the hub's collections (optionally filtered) as pystac Collections."""
        out: list[pystac.Collection] = []
        params: dict[str, Any] | None = {"q": q, "ecv": ecv, "agency": agency, "limit": 100}
        url = "/stac/collections"
        while url:
            page = self._json(url, params)
            out.extend(pystac.Collection.from_dict(c) for c in page.get("collections", []))
            url = next((ln["href"] for ln in page.get("links", []) if ln["rel"] == "next"), "")
            params = None  # the next link carries the query
        return out

    def collection(self, collection_id: str) -> pystac.Collection:
        """Return one collection."""
        return pystac.Collection.from_dict(self._json(f"/stac/collections/{collection_id}"))

    def search(
        self,
        *,
        collections: Sequence[str] | str | None = None,
        bbox: BBoxLike | None = None,
        datetime: str | None = None,
        ids: Sequence[str] | str | None = None,
        ecv: str | None = None,
        agency: str | None = None,
        q: str | None = None,
        filter: str | None = None,  # noqa: A002 - the STAC parameter's name
        max_items: int | None = None,
        page_size: int = 100,
    ) -> pystac.ItemCollection:
        """Search items (STAC item search), following every ``next`` page.

        ``datetime`` is a date-time, a date (its whole day) or an interval of them
        (``2021-12-01/2021-12-31``, ``..`` for an open end; see :func:`search_datetime`).
        ``filter`` is CQL2 text, e.g. ``"sco:ecv = 'sea_ice'"``.
        """
        items = list(
            self._iter_items(
                {
                    "collections": _join(collections),
                    "bbox": _bbox(bbox),
                    "datetime": search_datetime(datetime),
                    "ids": _join(ids),
                    "ecv": ecv,
                    "agency": agency,
                    "q": q,
                    "filter": filter,
                    "filter-lang": "cql2-text" if filter else None,
                    "limit": page_size,
                },
                max_items,
            )
        )
        return pystac.ItemCollection(items)

    def _iter_items(self, params: dict[str, Any], max_items: int | None) -> Iterator[pystac.Item]:
        url = "/stac/search"
        query: dict[str, Any] | None = params
        count = 0
        while url:
            page = self._json(url, query)
            for feature in page.get("features", []):
                yield pystac.Item.from_dict(feature)
                count += 1
                if max_items is not None and count >= max_items:
                    return
            url = next((ln["href"] for ln in page.get("links", []) if ln["rel"] == "next"), "")
            query = None

    # -- data -------------------------------------------------------------------------------
    def zarr_url(self, collection_id: str, version: int | None = None) -> str:
        """URL of a collection's Zarr v3 cube (the latest version unless *version*)."""
        suffix = f"/v{version}" if version is not None else ""
        return f"{self.url}/zarr/{collection_id}{suffix}"

    def open(self, collection_id: str, version: int | None = None) -> xr.Dataset:
        """Open a collection's cube lazily over HTTP (values are read on demand)."""
        self.collection(collection_id)  # a clear HubNotFound for unknown ids
        return xr.open_zarr(self.zarr_url(collection_id, version), zarr_format=3)

    def timeseries(
        self,
        collection_id: str,
        lon: float,
        lat: float,
        *,
        variables: Sequence[str] | str | None = None,
        datetime: str | None = None,
    ) -> pd.DataFrame:
        """Return the time series at the cell nearest (lon, lat): one column per variable.

        Uses the EDR position query; columns carry units in ``DataFrame.attrs['units']``.
        """
        cov = self._json(
            f"/edr/collections/{collection_id}/position",
            {
                "coords": f"POINT({lon} {lat})",
                "parameter-name": _join(variables),
                "datetime": datetime,
                "f": "CoverageJSON",
            },
        )
        return coverage_to_frame(cov)

    # -- processes --------------------------------------------------------------------------
    def processes(self) -> list[str]:
        """Ids of the processes the hub runs."""
        return [p["id"] for p in self._json("/processes")["processes"]]

    def operations(self) -> dict[str, OperationInfo]:
        """Every operation the hub runs, with its inputs and outputs (read once)."""
        if self._operations is None:
            self._operations = {
                pid: OperationInfo.from_description(self._json(f"/processes/{pid}"))
                for pid in self.processes()
            }
        return self._operations

    @property
    def ops(self) -> Operations:
        """The operations as methods: ``hub.ops.area_mean(collection=..., region="NAO")``."""
        return Operations(self, self.operations)

    def _inputs(self, process: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """*inputs* without Nones, their names checked against the process's description."""
        info = self.operations().get(process)
        if info is None:  # unknown here: the hub names the known ones (404)
            return {k: v for k, v in inputs.items() if v is not None}
        return info.check(inputs)

    def execute(self, process: str, **inputs: Any) -> Any:
        """Run a process synchronously and return its outputs (413 → HubTooLarge: submit it)."""
        response = self._http.post(
            f"/processes/{process}/execution", json={"inputs": self._inputs(process, inputs)}
        )
        raise_for_problem(response)
        return response.json()

    def submit(self, process: str, **inputs: Any) -> Job:
        """Submit a process as an asynchronous job; return the :class:`Job`."""
        response = self._http.post(
            f"/processes/{process}/execution",
            json={"inputs": self._inputs(process, inputs)},
            headers={"Prefer": "respond-async"},
        )
        raise_for_problem(response)
        return Job(self, response.json())

    def job(self, job_id: str, access: str | None = None) -> Job:
        """Return a job by id (*access*: the token of a job submitted without an API key)."""
        params = {"access": access} if access else None
        return Job(self, self._json(f"/jobs/{job_id}", params), access)

    def estimate(
        self,
        collection_id: str,
        *,
        bbox: BBoxLike | None = None,
        datetime: str | None = None,
        variables: Sequence[str] | str | None = None,
    ) -> dict[str, Any]:
        """Ask the hub how large a download would be, without reading data."""
        return self._json(
            f"/download/{collection_id}/estimate",
            {"bbox": _bbox(bbox), "datetime": datetime, "variables": _join(variables)},
        )

    def download(
        self,
        collection_id: str,
        path: str | Path,
        *,
        bbox: BBoxLike | None = None,
        datetime: str | None = None,
        variables: Sequence[str] | str | None = None,
        format: str = "netcdf",  # noqa: A002 - the hub's parameter name
    ) -> Path:
        """Download a subset to *path* (NetCDF, CSV or GeoTIFF); return the path."""
        params = {
            "bbox": _bbox(bbox),
            "datetime": datetime,
            "variables": _join(variables),
            "format": format,
        }
        clean = {k: v for k, v in params.items() if v is not None}
        target = Path(path)
        with self._http.stream("GET", f"/download/{collection_id}", params=clean) as response:
            if not response.is_success:
                response.read()
                raise_for_problem(response)
            tmp = target.with_name(target.name + ".part")
            with tmp.open("wb") as fh:
                for block in response.iter_bytes():
                    fh.write(block)
            tmp.replace(target)
        return target


class Job:
    """A job running on the hub (OGC API Processes).

    A job submitted without an API key is reached with the access token the hub answered
    when it created it (``sco:access``), kept here as :attr:`access`.
    """

    def __init__(self, hub: Hub, status: dict[str, Any], access: str | None = None) -> None:
        self.hub = hub
        self.id = str(status["jobID"])
        self.access = access or status.get("sco:access")
        self.status_info = status

    @property
    def _params(self) -> dict[str, Any] | None:
        return {"access": self.access} if self.access else None

    def __repr__(self) -> str:
        return f"Job({self.id!r}, {self.status!r})"

    @property
    def status(self) -> str:
        """The last known status (accepted, running, successful, failed, dismissed)."""
        return str(self.status_info["status"])

    def refresh(self) -> dict[str, Any]:
        """Fetch the job's status from the hub."""
        self.status_info = self.hub._json(f"/jobs/{self.id}", self._params)
        return self.status_info

    def cancel(self) -> dict[str, Any]:
        """Dismiss the job."""
        response = self.hub._http.delete(f"/jobs/{self.id}", params=self._params)
        raise_for_problem(response)
        self.status_info = response.json()
        return self.status_info

    def wait(self, timeout: float = 3600.0, poll: float = 0.5, progress: bool = False) -> Any:
        """Wait for the end of the job; return its results (raise HubError if it failed)."""
        bar = None
        if progress:
            from rich.progress import Progress

            bar = Progress(transient=True)
            bar.start()
            task = bar.add_task(f"job {self.id[:8]}", total=100)
        deadline = time.monotonic() + timeout
        try:
            while True:
                info = self.refresh()
                if bar is not None:
                    bar.update(task, completed=info.get("progress", 0), description=info["message"])
                if info["status"] not in ("accepted", "running"):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"job {self.id} still {info['status']} after {timeout} s")
                time.sleep(poll)
        finally:
            if bar is not None:
                bar.stop()
        return self.results()

    def results(self) -> Any:
        """The job's outputs (HubError when it did not succeed)."""
        return self.hub._json(f"/jobs/{self.id}/results", self._params)


def coverage_to_frame(cov: dict[str, Any]) -> pd.DataFrame:
    """Turn a CoverageJSON point series (or a Coverage with a time axis) into a DataFrame."""
    axes = cov["domain"]["axes"]
    times = pd.to_datetime(axes["t"]["values"]) if "t" in axes else pd.Index([0])
    data: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for name, rng in cov.get("ranges", {}).items():
        values = np.array([np.nan if v is None else v for v in rng["values"]], dtype="float64")
        shape = rng.get("shape") or [len(values)]
        data[name] = values.reshape(shape).reshape(len(times), -1)[:, 0]
        unit = cov.get("parameters", {}).get(name, {}).get("unit", {})
        symbol = unit.get("symbol", "")
        if isinstance(symbol, dict):
            symbol = symbol.get("value", "")
        units[name] = str(symbol or unit.get("label", {}).get("en", ""))
    frame = pd.DataFrame(data, index=pd.Index(times, name="time"))
    frame.attrs["units"] = units
    return frame
