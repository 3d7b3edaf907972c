"""The application shell: landing, conformance, health, OpenAPI, problem+json and limits."""

from __future__ import annotations

from typing import Any

import httpx


def test_landing_links_resolve(live_hub: str) -> None:
    landing = httpx.get(f"{live_hub}/").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance"} <= rels
    for link in landing["links"]:
        assert httpx.get(link["href"]).status_code == 200, link


def test_health_ready_openapi(api: Any) -> None:
    assert api.get("/health").json()["status"] == "ok"
    ready = api.get("/ready").json()
    assert ready["status"] == "ready" and ready["checks"]["catalog"].startswith("ok (22")
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
