"""The hub's web portal: a browser interface over the hub's own standard APIs.

The portal is static HTML, CSS and JavaScript (plain ES modules, no build step) served by the
hub itself; its libraries (Leaflet, Chart.js, topojson-client and Natural Earth's world atlas
for the basemap) are installed from the npm registry at set-up (``make portal-assets``) and
served from ``/portal/static/vendor``: no CDN, no internet at run time.

Routes (mounted at the root):

* ``/`` -- the portal, for clients that prefer ``text/html`` (browsers); every other client
  gets the JSON landing page of :mod:`spaceclimate.api.core`;
* ``/portal/`` -- the portal, whatever the ``Accept`` header;
* ``/portal/static/{path}`` -- the portal's files;
* ``/portal/thumbnails/{cid}.png`` -- a small preview of a collection (map or line plot);
* ``/portal/diff/{z}/{x}/{y}.png`` -- difference tiles of two gridded layers (A - B).

The page itself talks to ``/stac``, ``/tiles``, ``/edr``, ``/download``, ``/processes`` and
``/regions`` like any other client.
"""

from __future__ import annotations

from spaceclimate.portal.routes import build
from spaceclimate.services.routers import RouterPlugin

plugin = RouterPlugin(
    name="portal",
    prefix="",
    build=build,
    conformance=(),
    description="Web portal: catalog, maps, time series, comparison and downloads (HTML)",
    order=900,
)

__all__ = ["build", "plugin"]
