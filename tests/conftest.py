"""Shared fixtures: the bundled real samples and an empty hub per test."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    """Folder of the bundled real satellite samples (``data/samples``)."""
    assert SAMPLES.is_dir(), f"bundled samples missing at {SAMPLES}"
    return SAMPLES
