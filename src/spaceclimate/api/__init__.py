"""The hub's web API: one FastAPI application, one router per standard.

Routers are plugins of the ``spaceclimate.api_routers`` entry-point group (see
:mod:`spaceclimate.services.routers`); the built-ins register through the same group.
"""

from __future__ import annotations

from spaceclimate.api.app import create_app

__all__ = ["create_app"]
