"""The STAC API 1.0 of the hub, mounted at ``/stac``.

Landing page, conformance, collections (with collection search), items, item search (GET and
POST) with the filter (CQL2 text and JSON), sort, fields and free-text extensions, and
queryables. Modules: :mod:`.routes` (endpoints), :mod:`.search` (requests and paging),
:mod:`.filter` (CQL2), :mod:`.fields` (fields and sort), :mod:`.links` (documents as served),
:mod:`.queryables` (what filters may name), :mod:`.conformance`.
"""

from __future__ import annotations

from spaceclimate.api.stac.conformance import CONFORMANCE
from spaceclimate.api.stac.routes import build
from spaceclimate.services.routers import RouterPlugin

plugin = RouterPlugin(
    name="stac",
    prefix="/stac",
    build=build,
    conformance=CONFORMANCE,
    description="STAC API: collections, items, search (filter, sort, fields, free text)",
    order=10,
)

__all__ = ["plugin"]
