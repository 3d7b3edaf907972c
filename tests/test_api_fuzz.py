"""Property-based fuzzing of every operation of the OpenAPI description, bounded in time.

Schemathesis generates requests from ``/api`` (examples, coverage and random phases) and
checks that no answer is a 5xx, that every status code and content type is documented, and
that JSON bodies match their declared schemas.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import start_server, stop_server

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def test_openapi_fuzz_finds_no_server_errors(hub_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "hub"
    shutil.copytree(hub_home, home)  # fuzzed processes may publish results: a private hub
    # no rate limits: every generated request reaches its handler rather than a 429
    env = {"SCO_JOB_WORKERS": "0", "SCO_RATE_LIMIT_READS": "off", "SCO_RATE_LIMIT_WRITES": "off"}
    url, proc = start_server(home, env=env)
    try:
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{url}/api",
                "--checks",
                CHECKS,
                "--max-examples",
                "6",
                # one worker: the generator describes its filters with ast.parse, which
                # CPython 3.11 can fail on when two threads parse at once (a SystemError)
                "--workers",
                "1",
                "--request-timeout",
                "30",
                "--max-time",
                "60",
                "--generation-deterministic",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
    finally:
        stop_server(proc)
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout and "failures" not in run.stdout.split("SUMMARY")[-1], report


# -- deeply nested filters -----------------------------------------------------------------------
#: How a boolean expression is wrapped once (text CQL2).
TEXT_WRAPPERS = {
    "paren": lambda e: f"({e})",
    "not": lambda e: f"NOT ({e})",
    "and": lambda e: f"({e}) AND id='b'",
    "or": lambda e: f"id='c' OR ({e})",
}


def _text_leaf(kind: str, depth: int) -> str:
    """A comparison whose operand nests *depth* levels: functions, arithmetic or arrays."""
    if kind == "casei":
        return "CASEI(id) = " + "CASEI(" * depth + "'a'" + ")" * depth
    if kind == "arith":
        return "(" * depth + "1" + " + 1)" * depth + " > 2"
    if kind == "array":
        return "A_CONTAINS(keywords, " + "(" * depth + "'a'" + ")" * depth + ")"
    if kind == "chain":
        return " AND ".join(["id='a'"] * max(depth, 1))
    return "id='a'"


def _json_filter(kind: str, depth: int, leaf_depth: int) -> str:
    """A CQL2 JSON filter's text: *depth* boolean levels around a leaf nesting *leaf_depth*.

    Written as text: a JSON encoder would itself recurse too deep for the deepest ones.
    """
    if kind == "array":
        value = "[" * leaf_depth + '"a"' + "]" * leaf_depth
        expr = '{"op": "a_contains", "args": [{"property": "keywords"}, ' + value + "]}"
    else:
        value = '{"op": "casei", "args": [' * leaf_depth + '"a"' + "]}" * leaf_depth
        expr = '{"op": "=", "args": [{"op": "casei", "args": [{"property": "id"}]}, '
        expr += value + "]}"
    other = '{"op": "=", "args": [{"property": "id"}, "b"]}'
    for level in range(depth):
        if level % 2:
            expr = '{"op": "not", "args": [' + expr + "]}"
        else:
            expr = '{"op": "and", "args": [' + expr + ", " + other + "]}"
    return expr


@st.composite
def nested_filters(draw: st.DrawFn) -> tuple[str, str]:
    """A (text or JSON) filter nested from a few levels to thousands, mixing wrappers."""
    depth = draw(st.one_of(st.integers(0, 40), st.integers(40, 4000)))
    leaf_depth = draw(st.one_of(st.integers(0, 12), st.integers(12, 3000)))
    kind = draw(st.sampled_from(["plain", "casei", "arith", "array", "chain"]))
    if draw(st.booleans()):
        wrappers = draw(st.lists(st.sampled_from(sorted(TEXT_WRAPPERS)), min_size=1, max_size=4))
        text = _text_leaf(kind, leaf_depth)
        for level in range(depth):
            text = TEXT_WRAPPERS[wrappers[level % len(wrappers)]](text)
        return "cql2-text", text
    return "cql2-json", _json_filter(kind, depth, leaf_depth)


def test_deeply_nested_filters_never_take_the_server_down(hub_home: Path) -> None:
    """Generated filters nested up to thousands of levels: answered or refused, fast, no 5xx."""
    import httpx

    url, proc = start_server(hub_home, env={"SCO_RATE_LIMIT_READS": "off"})
    seen: dict[int, int] = {}
    try:
        client = httpx.Client(base_url=url, timeout=30)

        def post(lang: str, text: str) -> httpx.Response:
            body = json.dumps(text) if lang == "cql2-text" else text  # JSON as it is
            content = '{"filter": ' + body + ', "filter-lang": "' + lang + '", "limit": 1}'
            return client.post(
                "/stac/search", content=content, headers={"Content-Type": "application/json"}
            )

        @settings(max_examples=150, deadline=None, derandomize=True, database=None)
        @given(nested_filters(), st.sampled_from(["get-search", "items", "post-search"]))
        def attack(case: tuple[str, str], route: str) -> None:
            lang, text = case
            if route == "post-search" or len(text) > 7000:  # longer: past the query limit
                r = post(lang, text)
            else:
                path = "/stac/search"
                if route == "items":
                    path = "/stac/collections/ukmo-ostia-sst-daily/items"
                r = client.get(path, params={"filter": text, "filter-lang": lang, "limit": 1})
            seen[r.status_code] = seen.get(r.status_code, 0) + 1
            assert r.status_code in (200, 400, 413, 414), (r.status_code, text[:200], r.text[:300])
            assert r.elapsed.total_seconds() < 5, (text[:200], r.elapsed)
            if r.status_code != 200:
                assert len(r.json()["detail"]) < 400
            assert proc.poll() is None, f"the server died on {text[:200]}"

        attack()
        assert client.get("/health").status_code == 200
    finally:
        stop_server(proc)
    assert seen.get(200, 0) > 0 and seen.get(400, 0) > 0, seen
