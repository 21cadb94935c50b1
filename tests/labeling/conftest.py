"""Fixtures of the labeling tests: the small documents file and a temporary folder per test."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labeling"


@pytest.fixture
def docs_path() -> Path:
    """Four documents: a hard-wrapped UN speech, a press briefing, a release with markdown, remarks."""
    return FIXTURES / "docs.jsonl"


@pytest.fixture(autouse=True)
def _quiet_datasets():
    import datasets

    datasets.disable_progress_bars()
    yield
