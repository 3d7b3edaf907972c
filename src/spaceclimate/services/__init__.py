"""The hub's running services, as the web layers (API routers and the portal) receive them.

- :mod:`.context`: :class:`~spaceclimate.services.context.HubContext`, the settings, catalog,
  cube store and job queue of one server process, with a cache of opened cubes and the size
  checks every data request makes first;
- :mod:`.routers`: :class:`~spaceclimate.services.routers.RouterPlugin`, what a router plugin
  of ``spaceclimate.api_routers`` declares (the API's own routers and the portal alike);
- :mod:`.deps`: FastAPI dependencies giving a route the context, catalog, store or jobs; a
  test or a deployment overrides them (``app.dependency_overrides``).
"""

from __future__ import annotations

from spaceclimate.services.context import HubContext
from spaceclimate.services.routers import RouterPlugin

__all__ = ["HubContext", "RouterPlugin"]
