"""The STAC API as a validator of STAC APIs sees it, offline, on a live server.

The validator runs as a command (``tests/stacvalidate.py``) against ``sco serve`` on a copy of
the test hub (its transaction checks write), with every conformance class the hub declares
that it checks and that the hub's standards let it pass:

- ``core``, ``collections``, ``features``, ``item-search``, ``item-search#fields`` and
  ``transaction`` (POST, PUT, PATCH, DELETE of an item);
- not ``filter``: its checks filter on properties the hub does not have (``eo:cloud_cover``,
  ``mission``), and the hub answers 400 naming its queryables rather than matching nothing;
- not ``item-search#sort``: its POST checks send ``collections`` as a string, where item
  search takes a list (400).

The JSON schemas it validates documents against come from ``tests/data/schemas`` through a
loopback proxy (:mod:`tests.schemaproxy`); nothing is fetched from the internet.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import start_server, stop_server
from .opshub import make_key
from .schemaproxy import offline_schemas

CLASSES = ("core", "collections", "features", "item-search", "item-search#fields", "transaction")
#: Regional items: the search checks shift an item's bbox by a degree or two, which must stay
#: a valid lon/lat box (a global item's would not).
COLLECTION = "esa-cci-ozone-tc"
TRANSACTIONS = "esa-transaction-checks"
#: The item the transaction checks write: they begin by deleting it and expect 204.
CHECKED_ITEM = "S2A_47XNF_20230423_0_L2A"
RUNNER = Path(__file__).with_name("stacvalidate.py")


@pytest.fixture(scope="module")
def writable_hub(
    hub_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A live server on a copy of the test hub, a catalog-only collection for writes, a key."""
    home = tmp_path_factory.mktemp("validated") / "hub"
    shutil.copytree(hub_home, home)
    _key, token = make_key(home, "provider:ESA", name="validator")
    env = {"SCO_JOB_WORKERS": "0", "SCO_RATE_LIMIT_READS": "off", "SCO_RATE_LIMIT_WRITES": "off"}
    url, proc = start_server(home, env=env)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        made = httpx.post(
            f"{url}/stac/collections",
            headers=auth,
            json={
                "type": "Collection",
                "stac_version": "1.1.0",
                "id": TRANSACTIONS,
                "description": "Records written and removed by the transaction checks.",
                "license": "CC-BY-4.0",
                "providers": [{"name": "ESA", "roles": ["host"]}],
                "extent": {
                    "spatial": {"bbox": [[-180, -90, 180, 90]]},
                    "temporal": {"interval": [["2000-01-01T00:00:00Z", None]]},
                },
            },
        )
        assert made.status_code == 201, made.text
        there = httpx.post(
            f"{url}/stac/collections/{TRANSACTIONS}/items",
            headers=auth,
            json={
                "type": "Feature",
                "stac_version": "1.1.0",
                "id": CHECKED_ITEM,
                "geometry": {"type": "Point", "coordinates": [100.0, 77.0]},
                "properties": {"datetime": "2023-04-23T06:47:03Z"},
                "assets": {},
                "links": [],
            },
        )
        assert there.status_code == 201, there.text
        yield url, token
    finally:
        stop_server(proc)


def _section(output: str, title: str) -> list[str]:
    """The ``- ...`` lines under *title* (``Warnings:`` or ``Errors:``) of the report."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(title)]
    if not starts:
        return []
    out = []
    for line in lines[starts[-1] + 1 :]:
        if not line.startswith("- "):
            break
        out.append(line[2:])
    return out


def test_stac_api_validator_finds_no_error(writable_hub: tuple[str, str], tmp_path: Path) -> None:
    url, token = writable_hub
    args = [
        "--root-url",
        f"{url}/stac",
        *(arg for cls in CLASSES for arg in ("--conformance", cls)),
        "--collection",
        COLLECTION,
        "--geometry",
        json.dumps({"type": "Point", "coordinates": [30.0, 30.0]}),
        "--fields-nested-property",
        "properties.sco:ecv",
        "--transaction-collection",
        TRANSACTIONS,
        "--auth-bearer-token",
        token,
        "--headers",
        "Prefer: return=minimal",  # PUT and PATCH are checked for 204 without a body
        "--log-level",
        "WARNING",
    ]
    with offline_schemas(tmp_path / "certificates") as (proxy_env, fetched):
        run = subprocess.run(
            [sys.executable, str(RUNNER), *args],
            env={**os.environ, **proxy_env},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    warnings, errors = _section(run.stdout, "Warnings:"), _section(run.stdout, "Errors:")
    print(f"validator: {len(errors)} error(s), {len(warnings)} warning(s)")
    for warning in warnings:
        print(f"warning: {warning}")
    report = run.stdout[-12000:] + run.stderr[-4000:]
    assert errors == [], report
    assert "Errors: none" in run.stdout and run.returncode == 0, report
    # the documents were checked against the schemas, every one of them served offline
    assert fetched.missing == [], fetched.missing
    for schema in (
        "schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json",
        "schemas.stacspec.org/v1.1.0/collection-spec/json-schema/collection.json",
        "stac-extensions.github.io/datacube/v2.2.0/schema.json",
        "geojson.org/schema/Feature.json",
    ):
        assert schema in fetched.served, schema
    # the transaction checks wrote and deleted their item
    gone = httpx.get(f"{url}/stac/collections/{TRANSACTIONS}/items/{CHECKED_ITEM}")
    assert gone.status_code == 404
