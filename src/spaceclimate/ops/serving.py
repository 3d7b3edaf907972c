"""What ``sco serve`` prepares before uvicorn starts its workers.

This module must not import ``prometheus_client``: the metrics' multiprocess mode is chosen
when that library is first imported, so the folder is named in the environment first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from spaceclimate.config import Settings
from spaceclimate.ops.logs import log_config

#: Environment variable naming the folder where each worker writes its metrics.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir(settings: Settings) -> Path:
    """Empty (creating) the metrics folder of the workers and name it in the environment.

    The folder is ``$PROMETHEUS_MULTIPROC_DIR`` when set, else ``SCO_HOME/metrics``; the
    values of an earlier run are removed, as the multiprocess mode requires.
    """
    folder = Path(os.environ.get(MULTIPROC_ENV) or settings.resolved_home / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def server_options(settings: Settings, log_level: str) -> dict[str, Any]:
    """Prepare the metrics folder; return uvicorn options for the configured log format."""
    prepare_metrics_dir(settings)
    if settings.log_format == "json":
        return {"log_config": log_config(log_level), "access_log": False}
    return {}
