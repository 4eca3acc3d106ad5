"""The what-if page (Streamlit script; started by ``run.py serve``, see docs/whatif-page.md).

Only the public API of :mod:`experiments.whatif` and :func:`sim.scenario.explain.explain` is
called here: no model logic. The page state lives in ``st.session_state``: the current run
(a :class:`Job` a background thread fills), the last result and the saved what-ifs. The
server passes the results folder, the project folder, the preselected scenario and the
token in ``ECOMLAB_WEB_*`` environment variables; no path from the browser is opened
except the uploads, which :func:`experiments.whatif.save_upload` stores under a safe name.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from experiments.api import WorkRefused
from experiments.whatif import (
    MAX_UPLOAD_BYTES,
    MAX_WHATIFS,
    Lever,
    WhatIf,
    WhatIfCancelled,
    WhatIfResult,
    levers,
    overlay_yaml,
    run_whatif,
    save_upload,
    saved_set_spec,
    shipped_scenarios,
    tables_csv,
    tables_excel,
    windows,
)
from sim.scenario.errors import InputError
from sim.scenario.explain import explain
from sim.scenario.loader import load_scenario

__all__ = ["Job", "main"]

RESULTS = Path(os.environ.get("ECOMLAB_WEB_RESULTS", "results"))
ROOT = Path(os.environ.get("ECOMLAB_WEB_ROOT", "."))
PRESELECTED = os.environ.get("ECOMLAB_WEB_SCENARIO", "")
TOKEN = os.environ.get("ECOMLAB_WEB_TOKEN", "")
WORKERS = min(2, os.cpu_count() or 1)
CUSTOM = "other dates..."
CHART_LABELS = {
    "orders": "Orders placed",
    "backlog_end": "Picking backlog at day end (orders)",
    "orders_due": "Orders due",
    "delivered_on_time": "Delivered on time",
    "late_orders": "Late orders",
    "backorder_units_end": "Backordered units at day end",
    "marketing_spend": "Marketing spend",
    "labour_cost": "Labour cost",
}


@dataclass
class Job:
    """One what-if run in a background thread: progress, cancel event, outcome."""

    whatif: WhatIf
    cancel: threading.Event = field(default_factory=threading.Event)
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)
    result: WhatIfResult | None = None
    error: str | None = None
    finished: bool = False

    def progress(self, done: int, total: int) -> None:
        """``run_whatif``'s ``on_progress``: finished and total replications."""
        self.done, self.total = done, total

    def work(self) -> None:
        """Run the what-if (thread body); keep the result or the error's text."""
        try:
            self.result = run_whatif(
                self.whatif, RESULTS, on_progress=self.progress, cancel=self.cancel, workers=WORKERS
            )
        except WhatIfCancelled as exc:
            self.error = str(exc)
        except (InputError, WorkRefused, ValueError) as exc:
            self.error = str(exc)
        except Exception as exc:  # shown on the page, not lost in the thread
            self.error = f"the run failed: {type(exc).__name__}: {exc}"
        finally:
            self.finished = True

    def eta_text(self) -> str:
        """``3/8 replications, about 12 s left`` (no estimate before the first one finishes)."""
        if not self.total:
            return "starting..."
        text = f"{self.done}/{self.total} replications"
        if 0 < self.done < self.total:
            left = (time.monotonic() - self.started) / self.done * (self.total - self.done)
            text += f", about {left:.0f} s left"
        return text


def slug(text: str) -> str:
    """A widget key made of letters, digits, ``_`` and ``-`` (stable ``st-key-...`` CSS classes)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def show_problems(text: str) -> None:
    """One error box with one line per problem (an ``InputError``'s text)."""
    st.error("\n\n".join(line for line in str(text).splitlines() if line.strip()))


def token_ok() -> bool:
    """True without a server token, or when the URL's ``?token=`` matches it."""
    if not TOKEN:
        return True
    given = st.query_params.get("token", "")
    return hmac.compare_digest(given.encode(), TOKEN.encode())


def scenario_choices() -> dict[str, str]:
    """Label -> path of the shipped scenarios, the preselected one and this session's uploads."""
    out = {p.name: str(p) for p in shipped_scenarios(ROOT / "scenarios")}
    if PRESELECTED and Path(PRESELECTED).name not in out:
        out[Path(PRESELECTED).name] = PRESELECTED
    out.update(st.session_state.setdefault("uploads", {}))
    return out


def upload_box() -> None:
    """Upload a scenario file; a bad one shows the loader's lines, a good one joins the choices."""
    up = st.file_uploader(
        f"Upload a scenario (YAML, at most {MAX_UPLOAD_BYTES // 1024} KiB)", type=["yaml", "yml"], key="upload"
    )
    if up is None:
        return
    try:
        path = save_upload(up.name, up.getvalue(), RESULTS)
    except InputError as exc:
        show_problems(str(exc))
        return
    label = f"uploaded: {up.name}"
    if label not in st.session_state.uploads:
        st.session_state.uploads[label] = str(path)
        st.session_state.scenario = label


def pick_scenario() -> str | None:
    """The sidebar: scenario choice and upload; the chosen scenario's path."""
    with st.sidebar:
        st.header("Scenario")
        upload_box()
        choices = scenario_choices()
        names = list(choices)
        if "scenario" not in st.session_state:
            pre = Path(PRESELECTED).name if PRESELECTED else "double11.yaml"
            st.session_state.scenario = pre if pre in choices else names[0]
        name = st.selectbox("Scenario file", names, key="scenario")
    return choices.get(name) if name else None


def lever_input(lv: Lever):
    """The form control of one lever: its range, step, unit and the schema's description."""
    label = f"{lv.label} ({lv.unit})" if lv.unit else lv.label
    key = "lever_" + slug(lv.key)
    if lv.kind == "choice":
        options = list(lv.choices)
        index = options.index(lv.value) if lv.value in options else 0
        return st.selectbox(label, options, index=index, key=key, help=lv.help or None)
    cast = int if lv.kind == "int" else float
    number = float(str(lv.value))
    value = int(number) if lv.kind == "int" else number
    return st.number_input(
        label,
        min_value=None if lv.minimum is None else cast(lv.minimum),
        max_value=None if lv.maximum is None else cast(lv.maximum),
        value=value,
        step=cast(lv.step) if lv.step else None,
        key=key,
        help=lv.help or None,
    )


def lever_overrides(scenario: str) -> list[str]:
    """The levers as form controls grouped by topic; ``KEY=VALUE`` for each changed one."""
    out = []
    groups: dict[str, list[Lever]] = {}
    for lv in levers(scenario):
        groups.setdefault(lv.group, []).append(lv)
    tabs = st.tabs(list(groups))
    for tab, group in zip(tabs, groups, strict=True):
        with tab:
            cols = st.columns(2)
            for i, lv in enumerate(groups[group]):
                with cols[i % 2]:
                    value = lever_input(lv)
                if value != lv.value:
                    out.append(lv.override(value))
    return out


def free_overrides() -> list[str]:
    """The free ``key=value`` field: one override per line."""
    text = st.text_area(
        "More changes: one KEY=VALUE per line (any scenario key, as run.py --set takes it)",
        key="free_overrides",
        placeholder="for example: routing.carrier=fastest",
        height=80,
    )
    return [line.strip() for line in text.splitlines() if line.strip()]


def run_settings(scenario: str) -> tuple[int, tuple[str, str] | None, int | None, str]:
    """Replications, KPI window, seed and name of the what-if."""
    wins = windows(scenario)
    labels = [f"{label}: {a} to {b}" for label, a, b in wins] + [CUSTOM]
    c1, c2, c3, c4 = st.columns([1, 3, 1, 2])
    reps = int(c1.number_input("Replications", 1, 200, 4, 1, key="replications"))
    chosen = c2.selectbox("KPI window", labels, key="window")
    i = labels.index(chosen) if chosen is not None else 0
    seed = c3.number_input("Seed", 0, 2**31 - 1, None, 1, key="seed", help="master seed; empty: the scenario's own")
    name = c4.text_input("What-if name", f"what-if {len(st.session_state.get('saved', {})) + 1}", key="name")
    if chosen == CUSTOM:
        first, last = dt.date.fromisoformat(wins[0][1]), dt.date.fromisoformat(wins[0][2])
        picked = c2.date_input("From, to (inclusive)", (first, last), first, last, key="custom_window")
        dates = tuple(picked) if isinstance(picked, tuple) else ()
        window = (dates[0].isoformat(), dates[-1].isoformat()) if dates else None
    else:
        window = None if i == 0 else (wins[i][1], wins[i][2])
    return reps, window, None if seed is None else int(seed), name.strip() or "what-if"


def start_run(whatif: WhatIf) -> None:
    """Check the what-if (bad input: the loader's lines), then run it in a background thread."""
    try:
        whatif.validate()
    except InputError as exc:
        st.session_state.problems = str(exc)
        return
    st.session_state.problems = None
    job = Job(whatif)
    st.session_state.job = job
    threading.Thread(target=job.work, name="whatif-run", daemon=True).start()


@st.fragment(run_every=0.5)
def progress_panel() -> None:
    """The running job's progress bar with ETA and a cancel button; reruns the page when it ends."""
    job: Job | None = st.session_state.get("job")
    if job is None:
        return
    if job.finished:
        st.session_state.job = None
        if job.result is not None:
            st.session_state.result = job.result
        st.session_state.run_message = job.error
        st.rerun()
    st.progress(job.done / job.total if job.total else 0.0, text=job.eta_text())
    if st.button("Cancel", key="cancel"):
        job.cancel.set()


def card(row: pd.Series) -> None:
    """One KPI card: label and unit, mean with 95% CI, paired change against the baseline."""
    with st.container(border=True, key="card_" + slug(str(row["metric"]))):
        st.caption(f"{row['label']} ({row['unit']})" if row["unit"] else row["label"])
        st.markdown(f"**{row['text']}**")
        if pd.notna(row["diff"]):
            better = row["diff"] > 0 if row["better"] == "higher" else row["diff"] < 0
            mark = (
                ""
                if row["diff"] == 0 or row["better"] not in ("higher", "lower")
                else (" :green[better]" if better else " :red[worse]")
            )
            st.markdown(f"vs baseline: {row['diff_text']}{mark}")


def cards(result: WhatIfResult) -> None:
    """The KPI cards, four to a row."""
    rows = [r for _, r in result.cards.iterrows()]
    for start in range(0, len(rows), 4):
        cols = st.columns(4)
        for col, row in zip(cols, rows[start : start + 4], strict=False):
            with col:
                card(row)
    st.caption("Mean ± 95% confidence half-width over the replications; change: paired on common seeds.")


def shading(events: list[tuple[str, str, str]]) -> alt.Chart | None:
    """Grey bands over the event days (first to last, inclusive)."""
    if not events:
        return None
    frame = pd.DataFrame(
        [
            {"event": label, "start": pd.Timestamp(a), "end": pd.Timestamp(b) + pd.Timedelta(days=1)}
            for label, a, b in events
        ]
    )
    return alt.Chart(frame).mark_rect(opacity=0.15, color="grey").encode(x="start:T", x2="end:T", tooltip="event")


def daily_chart(daily: pd.DataFrame, metric: str, events, title: str) -> alt.Chart:
    """Mean per day and variant of ``metric`` with its 95% band; event days shaded."""
    frame = daily[["variant", "date", metric, f"{metric}_low", f"{metric}_high"]].copy()
    frame["date"] = pd.to_datetime(frame["date"])
    frame[f"{metric}_low"] = frame[f"{metric}_low"].clip(lower=0)  # counts and money per day: never below 0
    color = alt.Color("variant:N", title="Variant", scale=alt.Scale(scheme="tableau10"))
    base = alt.Chart(frame).encode(x=alt.X("date:T", title="Date"), color=color)
    band = base.mark_area(opacity=0.15).encode(y=f"{metric}_low:Q", y2=f"{metric}_high:Q")
    line = base.mark_line().encode(
        y=alt.Y(f"{metric}:Q", title=CHART_LABELS.get(metric, metric)),
        tooltip=["variant", alt.Tooltip("date:T"), alt.Tooltip(f"{metric}:Q", format=",.1f")],
    )
    layers = [band, line]
    shade = shading(events)
    if shade is not None:
        layers.insert(0, shade)
    chart = alt.layer(*layers).properties(title=title, height=260).interactive(bind_y=False)
    return chart.configure_legend(symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=3)


def charts(daily: pd.DataFrame, events, key: str) -> None:
    """A daily chart of a chosen column, and the picking backlog around the events."""
    if daily.empty:
        st.info("No daily table for this run.")
        return
    names = [m for m in CHART_LABELS if m in daily.columns]
    metric = st.selectbox("Daily chart", names, format_func=lambda m: CHART_LABELS[m], key=f"chart_{key}") or names[0]
    st.altair_chart(daily_chart(daily, metric, events, CHART_LABELS[metric]), use_container_width=True)
    if events and "backlog_end" in daily.columns:
        st.markdown("**Picking backlog at day end around each event** (a week either side; event days shaded)")
        cols = st.columns(min(len(events), 3))
        for col, event in zip(cols, events[:3], strict=False):
            with col:
                backlog_near(daily, event)


def backlog_near(daily: pd.DataFrame, event: tuple[str, str, str]) -> None:
    """The backlog chart of one event: its days and a week either side."""
    label, a, b = event
    dates = pd.to_datetime(daily["date"])
    near = (dates >= pd.Timestamp(a) - pd.Timedelta(days=7)) & (dates <= pd.Timestamp(b) + pd.Timedelta(days=7))
    around = daily[near.to_numpy()]
    if around.empty:
        st.caption(f"{label}: no days in this run")
        return
    st.altair_chart(daily_chart(around, "backlog_end", [event], label), use_container_width=True)


def downloads(result: WhatIfResult) -> None:
    """Download buttons: the plan overlay, the tables (CSV zip, Excel) and the HTML report."""
    stem = slug(result.whatif.name)
    files = st.session_state.setdefault("files", {})
    if id(result) not in files:  # built once per result, not on every rerun
        files[id(result)] = (tables_csv(result), tables_excel(result))
    csv_zip, xlsx_bytes = files[id(result)]
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("Overlay YAML", overlay_yaml(result.whatif), f"{stem}.yaml", "text/yaml", key="dl_overlay")
    c2.download_button("Tables (CSV, zip)", csv_zip, f"{stem}-tables.zip", "application/zip", key="dl_csv")
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    c3.download_button("Tables (Excel)", xlsx_bytes, f"{stem}.xlsx", xlsx, key="dl_xlsx")
    report = Path(result.report_path)
    if report.is_file():
        c4.download_button("HTML report", report.read_bytes(), f"{stem}-report.html", "text/html", key="dl_report")


def save_current(result: WhatIfResult) -> None:
    """Keep the result under its what-if's name (at most ``MAX_WHATIFS``; same name replaces)."""
    saved: dict[str, WhatIfResult] = st.session_state.setdefault("saved", {})
    name = result.whatif.name
    if name not in saved and len(saved) >= MAX_WHATIFS:
        st.session_state.run_message = f"at most {MAX_WHATIFS} saved what-ifs; remove one first"
        return
    saved[name] = result
    st.session_state.run_message = f"saved {name!r}"


def change_text(override: str, labels: dict[str, str]) -> str:
    """``East DC: extra pickers on event days = 6`` for a lever's override, else the override itself."""
    key, _, value = override.partition("=")
    return f"{labels[key.strip()]} = {value.strip()}" if key.strip() in labels else override


def result_panel(result: WhatIfResult) -> None:
    """The last run: cards, charts, downloads and the save button."""
    w = result.whatif
    labels = {lv.key: lv.label for lv in levers(w.scenario)}
    changes = ", ".join(change_text(o, labels) for o in w.overrides) or "no changes"
    cached = f"; {result.from_cache} replications from the cache" if result.from_cache else ""
    st.subheader(f"{w.name}: {changes}")
    st.caption(f"{w.replications} replications, {result.seconds:.1f} s{cached}. Folder: {result.folder}")
    cards(result)
    charts(result.daily, result.events, "result")
    downloads(result)
    if st.button(f"Save what-if {w.name!r}", key="save", type="primary"):
        save_current(result)
        st.rerun()


def compare_table(chosen: list[WhatIfResult]) -> pd.DataFrame:
    """KPI by KPI: the baseline and each chosen what-if (mean ± CI, change vs baseline)."""
    first = chosen[0].cards.set_index("metric")
    table = pd.DataFrame(
        {"KPI": [f"{r['label']} ({r['unit']})" if r["unit"] else r["label"] for _, r in first.iterrows()]}
    )
    table.index = first.index
    for res in chosen:
        c = res.cards.set_index("metric")
        table[res.whatif.name] = c["text"] + "  (" + c["diff_text"] + ")"
    return table.reset_index(drop=True)


def compare_panel() -> None:
    """Side by side: up to four saved what-ifs (table, charts) and the saved set as an experiment spec."""
    saved: dict[str, WhatIfResult] = st.session_state.get("saved", {})
    if not saved:
        return
    st.header("Compare saved what-ifs")
    key = "compare_" + slug("|".join(saved))  # a new saved what-if makes a new selection: all saved ones
    names = st.multiselect("What-ifs", list(saved), default=list(saved), max_selections=MAX_WHATIFS, key=key)
    chosen = [saved[n] for n in names]
    if not chosen:
        return
    st.caption("Each cell: mean ± 95% half-width (paired change against the baseline).")
    with st.container(key="compare_table"):
        st.table(compare_table(chosen).set_index("KPI"))
    daily = pd.concat(
        [c.daily[c.daily["variant"] != "baseline"] for c in chosen]
        + [chosen[0].daily[chosen[0].daily["variant"] == "baseline"]]
    )
    charts(daily, chosen[0].events, "compare")
    try:
        spec = saved_set_spec([c.whatif for c in chosen], "whatif_set")
    except ValueError as exc:
        st.warning(f"cannot export as one experiment: {exc}")
        return
    st.download_button("Saved set as experiment spec (YAML)", spec, "whatif_set.yaml", "text/yaml", key="dl_spec")


def setup_panel(scenario: str) -> None:
    """Explanation, levers, overrides and settings of the what-if, with the Run button."""
    with st.expander("What this scenario sets up", expanded=False):
        st.text(explain(load_scenario(scenario)))
    st.subheader("Levers")
    overrides = lever_overrides(scenario) + free_overrides()
    reps, window, seed, name = run_settings(scenario)
    busy = st.session_state.get("job") is not None
    if st.button("Run", key="run", type="primary", disabled=busy):
        start_run(WhatIf(scenario, tuple(overrides), reps, window, seed, name))
        st.rerun()
    if st.session_state.get("problems"):
        show_problems(st.session_state.problems)


def main() -> None:
    """The page: token check, scenario, set-up, run progress, result, comparison."""
    st.set_page_config(page_title="ecomlab what-if", layout="wide")
    if not token_ok():
        st.error("This page needs the token printed by run.py serve: open the URL with ?token=...")
        st.stop()
    st.title("What-if")
    scenario = pick_scenario()
    if scenario is None:
        st.stop()
    try:
        setup_panel(scenario)
    except InputError as exc:
        show_problems(str(exc))
        st.stop()
    progress_panel()
    if st.session_state.get("run_message"):
        st.info(st.session_state.run_message)
    result = st.session_state.get("result")
    if result is not None:
        result_panel(result)
    compare_panel()


if __name__ == "__main__":  # Streamlit runs the script as __main__
    main()
