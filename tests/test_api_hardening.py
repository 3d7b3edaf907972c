"""Hostile requests: none may bring the hub down or answer 500.

D1: a CQL2 filter nested thousands of levels deep crashed the server process inside the
parser (a stack overflow, not an exception). D2: nested function calls answered 500.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from spaceclimate.api.stac import filterguard
from spaceclimate.api.stac.filter import parse_filter
from spaceclimate.errors import InputError

from .conftest import start_server, stop_server


def _nested_json(depth: int) -> str:
    inner = '{"op":"=","args":[{"property":"id"},"a"]}'
    return '{"op":"not","args":[' * depth + inner + "]}" * depth


#: Filters that crashed (or, for CASEI, answered 500) before they were bounded; each is a
#: few kilobytes, well under the query-string limit.
ATTACKS = {
    "brackets": "(" * 2000 + "id='a'" + ")" * 2000,
    "casei": "id=" + "CASEI(" * 600 + "'a'" + ")" * 600,
    "arithmetic": "eo:cloud_cover<" + "(1*" * 2000 + "1" + ")" * 2000,
    "arrays": "A_CONTAINS(keywords," + "(" * 2000 + "'a'" + ")" * 2000 + ")",
    "not-chain": "NOT " * 1000 + "id='a'",
    "sign-chain": "eo:cloud_cover<" + "-" * 3000 + "1",
    "operator-chain": "eo:cloud_cover<" + "*".join(["1"] * 3000),
}


def _search_url(text: str, path: str = "/stac/search") -> str:
    """The URL an attacker sends: brackets and quotes raw, as a browser would leave them."""
    return f"{path}?filter=" + quote(text, safe="()'=<,:-*")


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_guard_refuses_deep_text_before_parsing(name: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InputError, match="not accepted") as caught:
        parse_filter(ATTACKS[name], "cql2-text", "cql2-text")
    assert time.perf_counter() - started < 0.05
    assert "filter" in caught.value.message


def test_guard_refuses_deep_json_as_text_and_as_objects() -> None:
    text = _nested_json(3000)
    with pytest.raises(InputError, match="deeper than"):
        parse_filter(text, "cql2-json", "cql2-json")
    value: object = {"op": "=", "args": [{"property": "id"}, "a"]}
    for _ in range(5000):  # deeper than json.dumps can recurse
        value = {"op": "not", "args": [value]}
    with pytest.raises(InputError, match="deeper than"):
        parse_filter(value, None, "cql2-json")  # type: ignore[arg-type]


def test_guard_leaves_ordinary_filters_alone() -> None:
    assert filterguard.check_text("id='a' AND (eo:cloud_cover < 10 OR NOT ecv = 'sst')") is None
    # brackets and keywords inside literals are not counted
    assert filterguard.check_text("id = '" + "(" * 500 + " AND NOT " * 400 + "'") is None
    assert filterguard.check_text("id IN (" + ",".join(["'x'"] * 3000) + ")") is None
    assert filterguard.check_json_text(json.dumps({"s": "[" * 1000})) is None
    nested = "(" * 30 + "id='a'" + ")" * 30
    assert parse_filter(nested, None, "cql2-text") is not None
    # the limits sit where they say: one more bracket or operator is refused
    at = "(" * filterguard.MAX_BRACKETS + "id='a'" + ")" * filterguard.MAX_BRACKETS
    assert filterguard.check_text(at) is None
    assert filterguard.check_text("(" + at + ")") is not None
    chain = "x<" + "+".join(["1"] * filterguard.MAX_OPERATORS)
    assert filterguard.check_text(chain) is None
    assert filterguard.check_text(chain + "+1") is not None


def test_nested_filters_answer_400_in_process(api) -> None:  # type: ignore[no-untyped-def]
    for name, text in ATTACKS.items():
        assert len(_search_url(text)) < 8192, name  # under the query-string limit
        r = api.get(_search_url(text))
        assert r.status_code == 400, (name, r.status_code, r.text[:200])
        assert "filter" in r.json()["detail"]
    r = api.get(_search_url(ATTACKS["casei"], "/stac/collections/esa-cci-sm-combined/items"))
    assert r.status_code == 400
    r = api.post(
        "/stac/search",
        content='{"filter-lang":"cql2-json","filter":' + _nested_json(3000) + "}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text[:300]
    for text in (*ATTACKS.values(), "NOT " * 20000 + "id='a'", "x<" + "+".join(["1"] * 30000)):
        # a body may carry far more than a URL: chains that crash the parser at any stack size
        r = api.post("/stac/search", json={"filter": text, "filter-lang": "cql2-text"})
        assert r.status_code == 400, r.text[:300]


@pytest.mark.parametrize("workers", [1, 2])
def test_depth_attack_never_takes_the_server_down(tmp_path: Path, workers: int) -> None:
    """1,000 depth attacks in a row on a real server: each answered 400 within milliseconds."""
    (tmp_path / "hub" / "store").mkdir(parents=True)  # an empty hub is ready
    url, proc = start_server(tmp_path / "hub", "--workers", str(workers))
    try:
        attacks = list(ATTACKS.values())
        slowest = 0.0
        with httpx.Client(base_url=url, timeout=10) as client:
            for i in range(1000):
                started = time.perf_counter()
                r = client.get(_search_url(attacks[i % len(attacks)]))
                slowest = max(slowest, time.perf_counter() - started)
                assert r.status_code == 400, (i, r.status_code, r.text[:200])
            assert proc.poll() is None, "the server exited"
            assert client.get("/ready").status_code == 200
        assert slowest < 0.5, f"slowest refusal took {slowest:.3f} s"
    finally:
        stop_server(proc)
