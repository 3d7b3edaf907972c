"""The xpublish + xpublish-edr server of the benchmarks (run in benchmarks/.venv-peers).

Environment: ``BENCH_ZARR`` (the cube), ``BENCH_GROUP`` (optional Zarr group to open).
The dataset is served as ``/datasets/sst/edr/...``.
"""

import os

import xarray as xr
import xpublish
from xpublish_edr import CfEdrPlugin

group = os.environ.get("BENCH_GROUP") or None
ds = xr.open_zarr(os.environ["BENCH_ZARR"], group=group)
ds = ds[["sst"]]
rest = xpublish.Rest({"sst": ds}, plugins={"edr": CfEdrPlugin()})
app = rest.app
