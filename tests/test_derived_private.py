"""Derived collections (analysis results) are labelled derived, say who made them, are never
listed as an agency's data, and belong to the API key that made them until published: no
other key and no anonymous client sees them in any API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .hubutil import key_headers
from .profile import copy_hub, hub_settings

ERSST = "noaa-ersst-v5"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, hub_home: Path) -> Path:
    home = tmp_path_factory.mktemp("derived") / "hub"
    copy_hub(hub_home, home)
    return home


@pytest.fixture(scope="module")
def client(hub: Path) -> Iterator[TestClient]:
    from spaceclimate.api.app import create_app

    with TestClient(create_app(hub_settings(hub))) as c:
        yield c


@pytest.fixture(scope="module")
def keys(hub: Path) -> dict[str, dict[str, str]]:
    return key_headers(hub, {"a": ["provider:Lab A"], "b": ["provider:Lab B"], "admin": ["admin"]})


def _trend_map(client: TestClient, headers: dict[str, str], period: str) -> str:
    done = client.post(
        "/processes/trend/execution",
        json={"inputs": {"collection": ERSST, "datetime": period}},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    return str(done.json()["collection"]["collection"])


def _seen(client: TestClient, cid: str, headers: dict[str, str] | None = None) -> dict[str, int]:
    """The status of each API's answer about collection *cid*."""
    h = headers or {}
    return {
        "stac": client.get(f"/stac/collections/{cid}", headers=h).status_code,
        "items": client.get(f"/stac/collections/{cid}/items", headers=h).status_code,
        "search": client.get("/stac/search", params={"collections": cid}, headers=h).status_code,
        "edr": client.get(f"/edr/collections/{cid}", headers=h).status_code,
        "zarr": client.get(f"/zarr/{cid}/zarr.json", headers=h).status_code,
        "tilejson": client.get(f"/tiles/{cid}/slope/tilejson.json", headers=h).status_code,
    }


def test_a_keys_derived_collection_is_private_until_published(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    cid = _trend_map(client, keys["a"], "2010-01-01/2019-12-31")
    mine = client.get(f"/stac/collections/{cid}", headers=keys["a"]).json()
    assert mine["sco:derived"] is True and mine["sco:kind"] == "derived"
    assert mine["sco:owner"].startswith("key:") and mine["sco:made_by"] == mine["sco:owner"]
    assert mine["sco:agencies"] == []  # never listed as NOAA's data
    assert [p["name"] for p in mine["providers"]] == ["Space Climate Observatory data hub"]
    assert mine["sco:derived_from"]["input_agencies"] == ["NOAA"]
    assert set(_seen(client, cid, keys["a"]).values()) == {200}
    assert set(_seen(client, cid, keys["admin"]).values()) == {200}
    for other in (None, keys["b"]):
        # as if it did not exist: 404, and 400 from a search naming an unknown collection
        seen = _seen(client, cid, other)
        assert seen == {**dict.fromkeys(seen, 404), "search": 400}, str(seen)
    listed = {
        c["id"]
        for c in client.get("/stac/collections", params={"limit": 1000}).json()["collections"]
    }
    assert cid not in listed and ERSST in listed
    found = client.get("/stac/search", params={"limit": 1000}).json()["features"]
    assert cid not in {f["collection"] for f in found}
    assert (
        client.get(
            "/stac/collections", params={"agency": "NOAA", "limit": 1000}, headers=keys["a"]
        ).status_code
        == 200
    )
    noaa = client.get("/stac/collections", params={"limit": 1000}, headers=keys["a"]).json()
    assert cid in {c["id"] for c in noaa["collections"]}
    # the same request by another key makes that key's own result, not a view of A's
    other = _trend_map(client, keys["b"], "2010-01-01/2019-12-31")
    assert other != cid
    assert client.post(f"/derived/{cid}/publish", headers=keys["b"]).status_code == 404
    assert client.post(f"/derived/{cid}/publish").status_code == 401
    published = client.post(f"/derived/{cid}/publish", headers=keys["a"])
    assert published.status_code == 200, published.text
    assert set(_seen(client, cid).values()) == {200}
    assert "sco:owner" not in client.get(f"/stac/collections/{cid}").json()


def test_an_anonymous_result_is_public_and_labelled(client: TestClient) -> None:
    cid = _trend_map(client, {}, "2011-01-01/2018-12-31")
    doc = client.get(f"/stac/collections/{cid}").json()
    assert doc["sco:kind"] == "derived" and doc["sco:made_by"] == "anonymous"
    assert "sco:owner" not in doc and doc["sco:agencies"] == []
    landing = client.get("/").json()
    assert "derived" not in landing["sco:holdings"]  # results hold no record of their own
