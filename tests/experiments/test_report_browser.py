"""The experiment report as a person sees it: headless Chromium at 1,280 px.

A small experiment (classroom_sq, a few hundredths of a second per replication) with
long, grid-like variant names and many KPI columns is run through the CLI; its
report.html is opened in the OS's Chromium (driven by Playwright, which never
downloads a browser here) and the page is checked for horizontal overflow, tables
wider than their container and images that did not load or do not fit. A full-page
screenshot is written to the test's tmp folder.

CI installs chromium (.ci/run); without it the test is skipped with the reason.
"""

from __future__ import annotations

import shutil
import struct

import pytest
from exp_helpers import latest, run_cli, write_spec

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does this)"
)
WIDTH = 1280

LONG_NAMES = [
    "reorder_point=3,order_quantity=5,review=continuous,service_level=0.95",
    "reorder_point=4,order_quantity=5,review=continuous,service_level=0.98",
    "reorder_point=6,order_quantity=8,review=continuous,service_level=0.995_with_expedite",
]
METRICS = [
    "unit_fill_rate",
    "order_fill_rate",
    "cycle_service_level",
    "avg_on_hand_units",
    "holding_cost",
    "ordering_cost",
    "shortage_cost",
    "total_cost",
    "replenishment_orders",
]

MEASURE = """() => {
  const doc = document.documentElement;
  const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width}; };
  const tables = [...document.querySelectorAll('table')].map(t => {
    const parent = t.parentElement;
    return {cls: t.className, table: box(t), parent: box(parent),
            parentScroll: parent.scrollWidth, parentClient: parent.clientWidth};
  });
  const main = box(document.querySelector('main'));
  const images = [...document.querySelectorAll('img')].map(i => ({
    complete: i.complete, natural: i.naturalWidth, rect: box(i)}));
  const first = document.querySelector('main table');
  const firstFigure = document.querySelector('figure');
  return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, tables, images, main,
          headlineFirst: !!first && first.classList.contains('headline'),
          headlineBeforePlots: !!first && !!firstFigure &&
              !!(first.compareDocumentPosition(firstFigure) & Node.DOCUMENT_POSITION_FOLLOWING),
          marks: [...document.querySelectorAll('table.headline .chg.better, table.headline .chg.worse')].length,
          header: [...document.querySelectorAll('table.headline thead th')].map(th => th.textContent)};
}"""


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    variants = [
        {"name": LONG_NAMES[0]},
        {"name": LONG_NAMES[1], "set": {"inventory.policy.reorder_point": 4}},
        {"name": LONG_NAMES[2], "set": {"inventory.policy.reorder_point": 6, "inventory.policy.order_quantity": 8}},
    ]
    spec = write_spec(
        folder,
        name="browser_check",
        replications=4,
        variants=variants,
        metrics=METRICS,
        daily_metrics=["on_hand_units"],
        plots=[
            {"type": "bar", "metric": "unit_fill_rate"},
            {"type": "bar", "metric": "total_cost"},
            {"type": "paired", "metric": "total_cost"},
            {"type": "tradeoff", "x": "avg_on_hand_units", "y": "unit_fill_rate", "minimize_y": False},
            {"type": "daily", "metric": "on_hand_units", "days": [100, 160]},
        ],
    )
    out = folder / "out"
    assert run_cli(spec, out, "--executor", "serial", "--quiet") == 0
    return latest(out) / "report.html"


def test_report_fits_1280_px_in_chromium(report, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    shot = tmp_path / "report_1280.png"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            m = page.evaluate(MEASURE)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    assert m["scrollWidth"] <= WIDTH, f"the page scrolls sideways: {m['scrollWidth']} px > {WIDTH} px"
    assert m["headlineFirst"] and m["headlineBeforePlots"], "the report must open with the headline table"
    assert m["header"][1:4] == ["Unit fill rate (%)", "Order fill rate (%)", "Cycle service level (%)"]
    assert m["marks"] >= 1, "significant changes carry a coloured mark"
    assert len(m["tables"]) >= 3
    for t in m["tables"]:
        assert t["table"]["left"] >= t["parent"]["left"] - 0.5, t
        assert t["table"]["right"] <= t["parent"]["right"] + 0.5, f"table {t['cls']!r} is wider than its box: {t}"
        assert t["parentScroll"] <= t["parentClient"] + 1, f"table {t['cls']!r} needs a scroll bar: {t}"
    assert len(m["images"]) == 5
    for img in m["images"]:
        assert img["complete"] and img["natural"] > 0, "every image is loaded"
        assert img["rect"]["left"] >= m["main"]["left"] - 0.5 and img["rect"]["right"] <= m["main"]["right"] + 0.5
    width, height = _png_size(shot.read_bytes())
    assert width == WIDTH and height > 900  # the whole page, at the width a reader sees
