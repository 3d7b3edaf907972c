"""OGC API - Environmental Data Retrieval 1.1 at ``/edr``: position, area and cube queries.

Only gridded collections (regular lat/lon and projected grids) are served; gridless series
are downloaded from ``/download/{collection}``. Answers are CoverageJSON, CSV or NetCDF.
"""

from __future__ import annotations

from spaceclimate.api.edr.routes import CONFORMANCE, build
from spaceclimate.services.routers import RouterPlugin

plugin = RouterPlugin(
    name="edr",
    prefix="/edr",
    build=build,
    conformance=CONFORMANCE,
    description="OGC API EDR 1.1: position, area and cube queries on gridded collections",
    order=20,
    heavy=(r"/collections/[^/]+/(?:area|cube)",),
)

__all__ = ["plugin"]
