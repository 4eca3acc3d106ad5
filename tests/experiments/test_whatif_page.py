"""The what-if page's script run in-process by Streamlit's AppTest (no server, no browser).

The browser test (test_whatif_browser.py) drives the real page end to end; this one renders the
page's panels from a real ``run_whatif`` result of a small scenario and checks what a planner
reads there: the KPI cards are the result's own formatted numbers, saving two what-ifs compares
them side by side, and a bad free override shows the loader's line instead of a traceback.
"""

from __future__ import annotations

import pytest
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from experiments.whatif import WhatIf, run_whatif

APP = str(ROOT / "experiments" / "web" / "app.py")
SQ = str(ROOT / "scenarios" / "classroom_sq.yaml")
SHORT = ("horizon_days=200",)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whatif")
    one = run_whatif(
        WhatIf(SQ, (*SHORT, "inventory.policy.reorder_point=4"), 2, None, 3, "r4"), folder, executor="serial"
    )
    two = run_whatif(
        WhatIf(SQ, (*SHORT, "inventory.policy.reorder_point=5"), 2, None, 3, "r5"), folder, executor="serial"
    )
    return folder, one, two


def page(folder, monkeypatch) -> AppTest:
    monkeypatch.setenv("ECOMLAB_WEB_RESULTS", str(folder))
    monkeypatch.setenv("ECOMLAB_WEB_ROOT", str(ROOT))
    monkeypatch.setenv("ECOMLAB_WEB_SCENARIO", SQ)
    return AppTest.from_file(APP, default_timeout=60)


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(str(c.value) for c in at.caption)


def test_cards_show_the_results_numbers_and_two_saved_what_ifs_are_compared(results, monkeypatch):
    folder, one, two = results
    at = page(folder, monkeypatch)
    at.run()
    assert not at.exception
    assert at.session_state["scenario"] == "classroom_sq.yaml"
    at.session_state["result"] = one
    at.run()
    assert not at.exception
    shown = texts(at)
    fill = one.cards.set_index("metric").loc["unit_fill_rate"]
    assert f"**{fill['text']}**" in shown and fill["diff_text"] in shown
    at.session_state["saved"] = {"r4": one, "r5": two}
    at.run()
    assert not at.exception
    (table,) = at.table
    frame = table.value
    assert list(frame.columns) == ["r4", "r5"]
    r5 = two.cards.set_index("metric").loc["unit_fill_rate"]
    assert f"{r5['text']}  ({r5['diff_text']})" in frame["r5"].tolist()


def test_a_bad_free_override_shows_the_loaders_line_on_the_page(results, monkeypatch):
    folder, _, _ = results
    at = page(folder, monkeypatch)
    at.run()
    (area,) = [t for t in at.text_area if t.key == "free_overrides"]
    area.input("inventory.policy.reorder_point=-7").run()
    at.button(key="run").click().run()  # checked on Run, before anything starts
    assert not at.exception
    assert "job" not in at.session_state  # nothing was started
    errors = "\n".join(e.value for e in at.error)
    assert "inventory.policy.reorder_point" in errors and "-7" in errors and "Traceback" not in errors
    assert errors.count("\n\n") == 0, errors  # one problem, one line
