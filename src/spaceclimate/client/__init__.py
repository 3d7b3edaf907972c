"""Python client of a remote hub: search, open, time series, download.

>>> from spaceclimate.client import Hub
>>> hub = Hub("http://127.0.0.1:8000")
>>> items = hub.search(collections=["ukmo-ostia-sst-daily"], datetime="2017-06-06")
>>> ds = hub.open("ukmo-ostia-sst-daily")            # lazy xarray.Dataset over Zarr
>>> series = hub.timeseries("ukmo-ostia-sst-daily", lon=-30, lat=40)
>>> hub.ops.area_mean(collection="ukmo-ostia-sst-daily", region="NAO")  # any operation
"""

from __future__ import annotations

from spaceclimate.client.errors import HubBadRequest, HubBusy, HubError, HubNotFound, HubTooLarge
from spaceclimate.client.hub import Hub, Job
from spaceclimate.client.operations import OperationInfo

__all__ = [
    "Hub",
    "Job",
    "HubBadRequest",
    "HubBusy",
    "HubError",
    "HubNotFound",
    "HubTooLarge",
    "OperationInfo",
]
