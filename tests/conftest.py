"""Fixtures every test gets: tests run from the repository root (shared constants live in helpers.py)."""

import pytest
from helpers import ROOT


@pytest.fixture(autouse=True)
def _run_from_repo_root(monkeypatch):
    """Docs and examples use paths relative to the repository root."""
    monkeypatch.chdir(ROOT)


def pytest_collection_modifyitems(items):
    """Long statistical checks (``slow``) run without the coverage tracer.

    They replay the simulator for hundreds of replications to compare numbers with theory;
    the tracer would make them ~2.5x slower without covering a line the fast tests miss.
    """
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.no_cover)
