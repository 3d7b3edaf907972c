"""spaceclimate: the data hub of a Space Climate Observatory."""

import warnings
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spaceclimate")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

# Cubes are Zarr v3 with consolidated metadata on purpose (one read opens a cube, also over
# HTTP); zarr warns about it on every open and write, which buried `sco`'s own output.
warnings.filterwarnings(
    "ignore", message="Consolidated metadata is currently not part", category=UserWarning
)

__all__ = ["__version__"]
