"""Property-based fuzzing of every operation of the OpenAPI description, bounded in time.

Schemathesis generates requests from ``/api`` (examples, coverage and random phases) and
checks that no answer is a 5xx, that every status code and content type is documented, and
that JSON bodies match their declared schemas.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
                "--workers",
                "2",
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
