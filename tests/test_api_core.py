"""The application shell: landing, conformance, health, OpenAPI, problem+json and limits."""

from __future__ import annotations

from typing import Any

import httpx

from .sourcedata import BUNDLED_COLLECTIONS


def test_landing_links_resolve(live_hub: str) -> None:
    landing = httpx.get(f"{live_hub}/").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance"} <= rels
    for link in landing["links"]:
        assert httpx.get(link["href"]).status_code == 200, link


def test_health_ready_openapi(api: Any) -> None:
    assert api.get("/health").json()["status"] == "ok"
    ready = api.get("/ready").json()
    assert ready["status"] == "ready" and ready["checks"]["catalog"].startswith(
        f"ok ({BUNDLED_COLLECTIONS}"
    )
    spec = api.get("/api").json()
    assert spec["openapi"].startswith("3.")
    assert api.get("/docs").status_code == 200


def test_unknown_path_is_a_problem(api: Any) -> None:
    r = api.get("/no/such/thing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 404 and "/no/such/thing" in body["detail"]


def test_over_long_query_string_is_refused(api: Any) -> None:
    r = api.get("/health", params={"x": "a" * 10_000})
    assert r.status_code == 414
    assert r.headers["content-type"] == "application/problem+json"


def test_over_large_body_is_refused(api: Any) -> None:
    r = api.post("/health", content=b"x" * 3_000_000)
    assert r.status_code == 413  # refused before any route runs


OPENAPI = "application/vnd.oai.openapi+json;version=3.1"


def test_openapi_is_served_in_the_media_type_asked_for(api: Any) -> None:
    # every landing page's service-desc link names a type /api answers with when asked for it
    for landing in ("/", "/stac", "/edr"):
        desc = [lk for lk in api.get(landing).json()["links"] if lk["rel"] == "service-desc"]
        assert [lk["type"] for lk in desc] == [OPENAPI], landing
    asked = {
        "application/vnd.oai.openapi+json;version=3.1": OPENAPI,
        "application/vnd.oai.openapi+json;version=3.0": OPENAPI,  # the version the hub has
        "application/vnd.oai.openapi+json": OPENAPI,
        "application/json": "application/json",
        "application/json;q=0.5, application/vnd.oai.openapi+json": OPENAPI,
        "application/vnd.oai.openapi+json;q=0.2, application/*;q=0.9": "application/json",
        "text/html,application/xhtml+xml,*/*;q=0.8": "application/json",  # a browser
        "*/*": "application/json",
        "": "application/json",
    }
    for accept, answered in asked.items():
        r = api.get("/api", headers={"Accept": accept})
        assert r.status_code == 200, accept
        assert r.headers["content-type"] == answered, accept
        assert "Accept" in r.headers["vary"]
        assert r.json()["openapi"] == "3.1.0" and "/stac/search" in r.json()["paths"]
    r = api.get("/api", headers={"Accept": "application/yaml"})
    assert r.status_code == 406 and r.headers["content-type"] == "application/problem+json"
    assert OPENAPI in r.json()["detail"]
    assert api.get("/docs").status_code == 200
