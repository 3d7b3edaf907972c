"""Services reach routes through dependencies; what a backend cannot do is said at start-up."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from spaceclimate.api import create_app
from spaceclimate.catalog.sql import SQLCatalogBackend
from spaceclimate.services.context import HubContext
from spaceclimate.services.deps import get_context

from .profile import hub_settings


class SearchOnlyCatalog(SQLCatalogBackend):
    """The SQL catalog, deployed without the capability of transactions."""

    capabilities: frozenset[str] = frozenset()


def test_a_test_or_deployment_overrides_the_services(hub_home: Path, tmp_path: Path) -> None:
    """An application made for an empty hub answers from another hub's services when told."""
    empty = hub_settings(tmp_path / "empty")
    full = HubContext(hub_settings(hub_home))
    app = create_app(empty)
    try:
        with TestClient(app) as client:
            assert client.get("/stac/collections").json()["collections"] == []
            app.dependency_overrides[get_context] = lambda: full
            ids = {c["id"] for c in client.get("/stac/collections").json()["collections"]}
            assert "ukmo-ostia-sst-daily" in ids
            tile = client.get("/tiles/ukmo-ostia-sst-daily/sst/0/0/0.png")
            assert tile.status_code == 200 and tile.content.startswith(b"\x89PNG")
            app.dependency_overrides.clear()
            assert client.get("/stac/collections").json()["collections"] == []
    finally:
        full.close()


def test_backend_without_transactions_says_so_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = hub_settings(tmp_path / "hub")
    catalog = SearchOnlyCatalog(settings.resolved_catalog_url)
    catalog.init()
    with caplog.at_level(logging.WARNING, logger="spaceclimate.api"):
        app = create_app(context=HubContext(settings, catalog=catalog))
    said = [r.getMessage() for r in caplog.records if "stac-transactions" in r.getMessage()]
    assert said and "cannot do transactions" in said[0]
    with TestClient(app) as client:
        landing = client.get("/").json()
        assert "cannot do transactions" in landing["sco:unavailable"]["stac-transactions"]
        assert "post" not in client.get("/api").json()["paths"]["/stac/collections"]
        refused = client.post("/stac/collections", json={"id": "x"})
        assert refused.status_code == 405  # the route is not served, and the hub said why
    # the full SQL catalog has the capability: the same hub serves transactions
    with TestClient(create_app(settings)) as client:
        assert "sco:unavailable" not in client.get("/").json()
        assert "post" in client.get("/api").json()["paths"]["/stac/collections"]
