"""Fixtures every test gets: tests run from the repository root (shared constants live in helpers.py)."""

import pytest
from helpers import ROOT


@pytest.fixture(autouse=True)
def _run_from_repo_root(monkeypatch):
    """Docs and examples use paths relative to the repository root."""
    monkeypatch.chdir(ROOT)


def pytest_collection_modifyitems(items):
    """Long statistical checks (``slow``) run without the coverage tracer; the doc tests start first.

    The slow checks replay the simulator for hundreds of replications to compare numbers with
    theory; the tracer would make them ~2.5x slower without covering a line the fast tests miss.
    The documents' commands (tests/test_docs.py, minutes) go first so that, with ``-n 2 --dist
    loadfile``, one worker runs them while the other takes everything else, instead of ending alone.
    """
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.no_cover)  # pytest-cov pauses the tracer for the call only
    items.sort(key=lambda item: item.nodeid.split("::")[0] != "tests/test_docs.py")  # stable: order kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """A slow check's fixtures (module fixtures that simulate hundreds of replications) set up untraced too.

    pytest-cov's ``no_cover`` pauses the tracer for a test's call only, so a slow module's fixture
    ran traced, ~2.5x slower (tests/sim/test_inventory_theory.py: 95 s of setup in one CI run).
    """
    plugin = item.config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    pause = controller is not None and item.get_closest_marker("slow") is not None
    if pause:
        controller.pause()
    try:
        yield
    finally:
        if pause:
            controller.resume()
