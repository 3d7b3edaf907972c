"""API keys, scopes, 401/403 with nothing changed, rate limits (database and Redis), CLI."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from spaceclimate.access import Access, ApiKey, Scope
from spaceclimate.access.ratelimit import RateLimiter, RedisCounterStore, Rule, SQLCounterStore
from spaceclimate.api import create_app
from spaceclimate.config import Settings
from spaceclimate.errors import InputError

from .opshub import SMALL, bearer, make_key, small_hub, snapshot

REDIS_URL = "redis://127.0.0.1:6379/0"
OZONE = "esa-cci-ozone-tc"
SMALL_OZONE = SMALL[0]
SEAICE = "nsidc-seaice-cdr-nh-monthly"


@pytest.fixture()
def hub(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_hub(tmp_path, tmp_path_factory.getbasetemp())


def client(home: Path, address: str = "198.51.100.7", **settings: object) -> TestClient:
    app = create_app(Settings(home=home, job_workers=0, **settings))  # type: ignore[arg-type]
    return TestClient(app, client=(address, 40000))


def catalog_only(cid: str, provider: str) -> dict[str, object]:
    return {
        "type": "Collection",
        "id": cid,
        "description": "Records of data held by the provider.",
        "license": "CC-BY-4.0",
        "providers": [{"name": provider, "roles": ["producer"]}],
        "extent": {
            "spatial": {"bbox": [[-10.0, 40.0, 10.0, 60.0]]},
            "temporal": {"interval": [["2001-01-01T00:00:00Z", None]]},
        },
    }


# -- keys and scopes --------------------------------------------------------------------------
def test_keys_are_stored_hashed_and_verified(tmp_path: Path) -> None:
    access = Access(Settings(home=tmp_path))
    try:
        key, token = access.keys.create(["provider:ESA", "collection:x"], "ESA ops")
        assert token.startswith(f"sco_{key.id}_")
        secret = token.split("_", 2)[2]
        assert len(secret) >= 40  # 32 random bytes, base64url
        found = access.keys.verify(token)
        assert found is not None and found.id == key.id
        assert [str(s) for s in found.scopes] == ["provider:ESA", "collection:x"]
        assert access.keys.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert access.keys.verify("sco_000000000000_" + secret) is None
        assert access.keys.verify("Bearer " + token) is None
        other, other_token = access.keys.create(["admin"])
        revoked = access.keys.revoke(key.id)
        assert revoked.revoked is not None
        assert access.keys.verify(token) is None
        assert access.keys.verify(other_token) is not None
    finally:
        access.close()
    raw = (tmp_path / "catalog.db").read_bytes()
    assert secret.encode() not in raw and token.encode() not in raw
    con = sqlite3.connect(tmp_path / "catalog.db")
    salts = [r[0] for r in con.execute("select salt from sco_api_keys")]
    con.close()
    assert len(set(salts)) == 2  # one salt a key


def test_scopes() -> None:
    esa = ApiKey("a" * 12, "esa", (Scope.parse("provider:ESA"),), "now")
    one = ApiKey("b" * 12, "", (Scope.parse("collection:noaa-ersst-v5"),), "now")
    admin = ApiKey("c" * 12, "", (Scope.parse(" ADMIN "),), "now")
    assert esa.may_write("anything", ["esa", "DLR"]) and not esa.may_write("x", ["NOAA"])
    assert one.may_write("noaa-ersst-v5", []) and not one.may_write("noaa-other", ["NOAA"])
    assert admin.is_admin and admin.may_write("x", [])
    for bad in ("", "owner", "provider:", "admin:x", "collection"):
        with pytest.raises(InputError):
            Scope.parse(bad)


# -- 401 and 403 leave the hub as it was ------------------------------------------------------
def test_writes_without_a_valid_key_are_401_and_change_nothing(hub: Path) -> None:
    key_id, token = make_key(hub, "provider:ESA")
    access = Access(Settings(home=hub))
    access.keys.revoke(key_id)
    access.close()
    before = snapshot(hub)
    doc = catalog_only("esa-records", "ESA")
    with client(hub) as c:
        answers = [
            c.post("/stac/collections", json=doc),
            c.post("/stac/collections", json=doc, headers=bearer("sco_nonsense")),
            c.post("/stac/collections", json=doc, headers=bearer(token)),  # revoked
            c.post("/stac/collections", json=doc, headers={"Authorization": f"Basic {token}"}),
            c.put(f"/stac/collections/{OZONE}", json=doc),
            c.delete(f"/stac/collections/{OZONE}"),
            c.delete(f"/stac/collections/{OZONE}/items/x"),
            c.post("/ingest", json={"urls": ["https://example.org/a.nc"]}),
            c.get("/admin/audit"),
        ]
        for r in answers:
            assert r.status_code == 401, r.text
            assert r.headers["www-authenticate"] == 'Bearer realm="spaceclimate"'
            assert r.headers["content-type"] == "application/problem+json"
        assert c.get("/stac/collections/esa-records").status_code == 404
        assert c.get(f"/stac/collections/{OZONE}").status_code == 200  # reads are anonymous
    assert snapshot(hub) == before


def test_a_key_of_another_provider_is_403_and_changes_nothing(hub: Path) -> None:
    _noaa_id, noaa = make_key(hub, "provider:NOAA", name="NOAA ops")
    _one_id, only_seaice = make_key(hub, f"collection:{SEAICE}")
    with client(hub) as c:
        ozone_doc = c.get(f"/stac/collections/{OZONE}").json()
        before = snapshot(hub)
        upload = (SMALL_OZONE.name, SMALL_OZONE.read_bytes())
        answers = [
            c.post(
                "/stac/collections", json=catalog_only("esa-records", "ESA"), headers=bearer(noaa)
            ),
            c.put(
                f"/stac/collections/{OZONE}", json={**ozone_doc, "title": "x"}, headers=bearer(noaa)
            ),
            c.put(
                f"/stac/collections/{OZONE}",
                json={**ozone_doc, "title": "x"},
                headers=bearer(only_seaice),
            ),
            c.delete(f"/stac/collections/{OZONE}", headers=bearer(noaa)),
            c.post("/ingest", files=[("files", upload)], headers=bearer(noaa)),
            c.post("/ingest", files=[("files", upload)], headers=bearer(only_seaice)),
            c.post(
                "/ingest",
                json={"urls": [f"https://example.org/{SMALL_OZONE.name}"]},
                headers=bearer(noaa),
            ),
            c.get("/admin/audit", headers=bearer(noaa)),
        ]
        for r in answers:
            assert r.status_code == 403, r.text
            assert "may not" in r.json()["detail"] or "not an admin" in r.json()["detail"]
        assert c.get(f"/stac/collections/{OZONE}").json()["title"] == ozone_doc["title"]
    assert snapshot(hub) == before
    # the same key may write what its scope covers
    with client(hub) as c:
        seaice = c.get(f"/stac/collections/{SEAICE}").json()
        r = c.put(
            f"/stac/collections/{SEAICE}",
            json={**seaice, "title": "Sea ice (NOAA edit)"},
            headers=bearer(noaa),
        )
        assert r.status_code == 200, r.text
        assert r.json()["title"] == "Sea ice (NOAA edit)"


# -- rate limits --------------------------------------------------------------------------------
def _one_window(period: float = 60.0, needed: float = 10.0) -> None:
    """Start in a fresh fixed window when this one ends within *needed* seconds.

    The counters start again with every window (every full minute for ``N/minute``): a
    test's requests must all fall in one window to see the limit.
    """
    left = period - time.time() % period
    if left < needed:
        time.sleep(left + 0.05)


def test_write_rate_limits_per_key_and_per_address(hub: Path) -> None:
    _id, esa = make_key(hub, "provider:ESA")
    settings = {"rate_limit_writes": "3/minute"}
    _one_window()
    with (
        client(hub, "203.0.113.1", **settings) as one,
        client(hub, "203.0.113.2", **settings) as two,
    ):
        # per address: unauthenticated writes count too (guessing keys is limited)
        codes = [one.post("/stac/collections", json={}).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        limited = one.post("/stac/collections", json={})
        assert limited.status_code == 429
        retry = int(limited.headers["retry-after"])
        assert 1 <= retry <= 60
        assert limited.json()["retry_after"] == retry
        assert one.get(f"/stac/collections/{OZONE}").status_code == 200  # reads unlimited
        # per key: the key's writes count from any address
        doc = catalog_only("esa-rate-1", "ESA")
        assert two.post("/stac/collections", json=doc, headers=bearer(esa)).status_code == 201
        for i in (2, 3):
            r = two.post(
                "/stac/collections", json=catalog_only(f"esa-rate-{i}", "ESA"), headers=bearer(esa)
            )
            assert r.status_code == 201, r.text
    with client(hub, "203.0.113.3", **settings) as three:
        r = three.post(
            "/stac/collections", json=catalog_only("esa-rate-4", "ESA"), headers=bearer(esa)
        )
        assert r.status_code == 429
        assert "key" in r.json()["detail"] and int(r.headers["retry-after"]) >= 1
        assert three.get("/stac/collections/esa-rate-4").status_code == 404


def test_read_rate_limit_when_configured(hub: Path) -> None:
    _one_window()
    with client(hub, "203.0.113.9", rate_limit_reads="5/minute") as c:
        codes = [c.get("/stac/conformance").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
    with client(hub, "203.0.113.10") as c:  # default: reads are not limited
        assert all(c.get("/health").status_code == 200 for _ in range(30))


def test_counters_are_shared_between_workers(tmp_path: Path) -> None:
    """Two limiters (two processes' worth) on one database or one Redis count together."""
    rule = Rule.parse("4/hour")
    assert rule is not None and rule.period == 3600
    settings = Settings(home=tmp_path)
    a, b = Access(settings), Access(settings)  # separate engines, like two workers
    try:
        namespace = uuid.uuid4().hex  # one hub's counters in a Redis others may share
        pairs = [
            (a.limiter, b.limiter),
            (
                RateLimiter(rule, None, RedisCounterStore(REDIS_URL, namespace)),
                RateLimiter(rule, None, RedisCounterStore(REDIS_URL, namespace)),
            ),
        ]
        assert isinstance(a.limiter.store, SQLCounterStore)
        for limiter_a, limiter_b in pairs:
            now = 7200.0 * 1000 + 10
            results = [
                limiter.check("write:key:k1", rule, now)
                for limiter in (limiter_a, limiter_b, limiter_a, limiter_b, limiter_a)
            ]
            assert results[:4] == [None] * 4
            assert results[4] == 3600 - 10  # until the window's end
            assert limiter_a.check("write:key:k2", rule, now) is None  # buckets are apart
            assert limiter_b.check("write:key:k1", rule, now + 3600) is None  # next window
    finally:
        a.close()
        b.close()


def test_counters_that_fail_let_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    rule = Rule.parse("1/second")
    limiter = RateLimiter(rule, None, RedisCounterStore("redis://127.0.0.1:1/0", "x"))
    with caplog.at_level("WARNING", logger="spaceclimate.ratelimit"):
        assert limiter.check("write:key:k", rule) is None
        assert limiter.check("write:key:k", rule) is None
    assert "rate-limit counters unavailable" in caplog.text


def test_redis_backs_the_hub_when_configured(hub: Path) -> None:
    import redis

    settings = {"rate_limit_reads": "3/minute", "redis_url": REDIS_URL}
    address = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
    _one_window()
    with client(hub, address, **settings) as c:
        codes = [c.get("/health").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    keys = redis.Redis.from_url(REDIS_URL).keys(f"sco:rl:*read:addr:{address}:*")
    assert len(keys) == 1
    con = sqlite3.connect(hub / "catalog.db")
    assert con.execute("select count(*) from sco_rate_limits").fetchone() == (0,)
    con.close()


# -- command line -------------------------------------------------------------------------------
@pytest.fixture()
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SCO_HOME", str(tmp_path))
    monkeypatch.delenv("SCO_CATALOG_URL", raising=False)
    yield tmp_path


def test_cli_keys_and_audit(cli_home: Path) -> None:
    from spaceclimate.cli.main import app

    runner = CliRunner()
    made = runner.invoke(
        app, ["keys", "create", "--scope", "provider:ESA", "--name", "ESA ops", "--json"]
    )
    assert made.exit_code == 0, made.output
    key = json.loads(made.output)
    assert key["scopes"] == ["provider:ESA"] and key["name"] == "ESA ops"
    access = Access(Settings(home=cli_home))
    assert access.keys.verify(key["token"]) is not None
    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert [k["id"] for k in json.loads(listed.output)] == [key["id"]]
    assert key["token"] not in listed.output
    revoked = runner.invoke(app, ["keys", "revoke", key["id"]])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert access.keys.verify(key["token"]) is None
    access.close()
    bad = runner.invoke(app, ["keys", "create", "--scope", "owner:ESA"])
    assert bad.exit_code == 2 and "scope 'owner:ESA'" in bad.output
    unknown = runner.invoke(app, ["keys", "revoke", "000000000000"])
    assert unknown.exit_code == 2
    audit = runner.invoke(app, ["audit", "--json"])
    entries = json.loads(audit.output)
    assert [e["action"] for e in entries] == ["key.revoke", "key.create"]
    assert all(e["client"].startswith("cli:") for e in entries)
    assert entries[0]["detail"]["key"]["id"] == key["id"]
    assert time.strftime("%Y") in entries[0]["time"]
