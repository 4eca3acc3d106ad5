"""Fixtures every test gets: tests run from the repository root (shared constants live in helpers.py)."""

import pytest
from helpers import ROOT


@pytest.fixture(autouse=True)
def _run_from_repo_root(monkeypatch):
    """Docs and examples use paths relative to the repository root."""
    monkeypatch.chdir(ROOT)
