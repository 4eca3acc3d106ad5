"""``run.py compare RUN_A RUN_B``: two finished runs side by side, KPI by KPI.

A run is a ``simulate`` run folder (``kpis.csv``) or one variant of an ``experiment`` run
folder (``runs.csv``; ``RUN:VARIANT`` picks the variant, needed when there are several);
``results/<name>/latest`` and ``results/<name>`` (its ``latest``) work too, and a path that
does not exist is also looked up under the results root.

The difference is B - A with a 95% Student-t interval:

* **paired** (common random numbers) when both runs used the same replication seeds — all
  of them, or all of the smaller run: d_r = b_r - a_r on the common seeds, CI = mean(d) ±
  t_{0.975, n-1} s_d / sqrt(n);
* **Welch** otherwise (independent samples): se^2 = s_a^2/n_a + s_b^2/n_b, Welch-Satterthwaite
  degrees of freedom (``experiments.stats.welch_half_width``).

The method used is said on screen and in the report. A mark ``*`` flags a difference whose
interval excludes 0.

>>> a = pd.DataFrame({"seed": [1, 2, 3], "cost": [10.0, 20.0, 30.0]})
>>> b = pd.DataFrame({"seed": [1, 2, 3], "cost": [11.0, 21.5, 31.0]})
>>> c = compare_tables(a, b, ["cost"])
>>> c.method, round(float(c.table.loc[0, "difference"]), 3), bool(c.table.loc[0, "excludes_zero"])
('paired', 1.167, True)
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.stats import mean_ci, welch_half_width

LEVEL = 0.95


class CompareError(ValueError):
    """Input that cannot be compared; ``str()`` is one line (``run.py`` prints it, exit 2)."""


@dataclass(frozen=True)
class RunSample:
    """The replications of one run (one variant of an experiment): a label and its rows."""

    label: str
    folder: Path
    variant: str | None
    runs: pd.DataFrame  # ok replications: seed (if known) + KPI columns


@dataclass(frozen=True)
class Comparison:
    """B - A per KPI: the method (paired or Welch) and why, the sample sizes and the table."""

    method: str  # "paired" or "welch"
    reason: str  # why that method, in words
    n_a: int
    n_b: int
    n_pairs: int
    table: pd.DataFrame  # metric, unit, a_mean, b_mean, difference, half_width, ci_low, ci_high, excludes_zero


# --------------------------------------------------------------------------- reading runs
def _run_folder(path: Path, results: Path | None) -> Path:
    candidates = [path]
    if results is not None and not path.is_absolute():
        candidates.append(Path(results) / path)
        if path.parts and path.parts[0] == "results":
            candidates.append(Path(results).joinpath(*path.parts[1:]))
    for p in candidates:
        if p.is_dir():
            if not (p / "manifest.json").is_file() and (p / "latest").is_dir():
                p = p / "latest"  # results/<name>: its newest run
            return p
    raise CompareError(f"{path}: no such run folder")


def _kpi_names() -> list[str]:
    from sim.metrics import KPI_INFO

    return list(KPI_INFO)


def _unit(metric: str) -> str:
    from experiments.output import _kpi_unit

    return _kpi_unit(metric)


def _split_variant(text: str) -> tuple[Path, str | None]:
    """``RUN`` -> (RUN, None); ``RUN:VARIANT`` (when no file RUN:VARIANT exists) -> (RUN, VARIANT)."""
    path = Path(text)
    if ":" not in text or path.exists():
        return path, None
    head, _, variant = text.rpartition(":")
    if not head or not variant:
        raise CompareError(f"{text}: expected RUN or RUN:VARIANT")
    return Path(head), variant


def _runs_table(folder: Path) -> tuple[Path, str]:
    """(the table of replications, the run kind) of a finished run folder, told by its manifest and files."""
    kind = None
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            kind = json.loads(manifest.read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            raise CompareError(f"{folder}: manifest.json cannot be read") from None
    if (folder / "runs.csv").is_file() and kind in (None, "experiment"):
        return folder / "runs.csv", "experiment"
    if (folder / "kpis.csv").is_file() and kind in (None, "simulate"):
        return folder / "kpis.csv", "simulate"
    raise CompareError(f"{folder}: not a finished simulate or experiment run folder (no kpis.csv or runs.csv)")


def _pick_variant(text: str, table: Path, runs: pd.DataFrame, variant: str | None) -> tuple[pd.DataFrame, str]:
    """An experiment's rows of ``variant`` (or of its only variant) and the variant's name."""
    if "variant" not in runs:
        raise CompareError(f"{table}: has no variant column")
    variants = list(dict.fromkeys(runs["variant"].astype(str)))
    if variant is None:
        if len(variants) != 1:
            raise CompareError(
                f"{text}: an experiment with variants {', '.join(variants)}; pick one with {text}:VARIANT"
            )
        variant = variants[0]
    elif variant not in variants:
        raise CompareError(f"{text}: unknown variant {variant!r}; the variants are {', '.join(variants)}")
    return runs[runs["variant"].astype(str) == variant], variant


def read_run(text: str, results: Path | None = None) -> RunSample:
    """The ok replications of ``text``: a run folder, or ``RUN:VARIANT`` for an experiment variant."""
    path, variant = _split_variant(text)
    folder = _run_folder(path, results)
    table, kind = _runs_table(folder)
    try:
        runs = pd.read_csv(table, keep_default_na=False, na_values=[""])
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise CompareError(f"{table}: cannot be read ({exc})") from None
    label = str(path)
    if kind == "experiment":
        runs, variant = _pick_variant(text, table, runs, variant)
        label = f"{path}:{variant}"
    elif variant is not None:
        raise CompareError(f"{text}: {folder} is a simulate run; it has no variants")
    if "status" in runs:
        runs = runs[runs["status"] == "ok"]
    if not len(runs):
        raise CompareError(f"{text}: no finished replications")
    keep = [c for c in runs.columns if c == "seed" or c in _kpi_names()]
    return RunSample(label=label, folder=folder, variant=variant, runs=runs[keep].reset_index(drop=True))


# --------------------------------------------------------------------------- statistics
def _pairing(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list, str]:
    """The seeds to pair on (empty: do not pair) and why."""
    if "seed" not in a or "seed" not in b:
        return [], "a run has no replication seeds"
    sa, sb = list(a["seed"]), list(b["seed"])
    if len(set(sa)) != len(sa) or len(set(sb)) != len(sb):
        return [], "a run repeats a replication seed"
    common = [s for s in sa if s in set(sb)]
    if len(common) < 2:
        return [], "the runs used different replication seeds"
    if len(common) < min(len(sa), len(sb)):
        return [], "the runs share only some replication seeds"
    if len(sa) == len(sb):
        return common, f"both runs used the same {len(common)} replication seeds (common random numbers)"
    return common, (
        f"the {len(common)} replication seeds of the smaller run are among the other's (common random numbers)"
    )


def compare_tables(a: pd.DataFrame, b: pd.DataFrame, metrics: list[str], level: float = LEVEL) -> Comparison:
    """B - A for every metric: paired on common seeds when they match, Welch otherwise."""
    seeds, reason = _pairing(a, b)
    method = "paired" if seeds else "welch"
    if seeds:
        pa, pb = a.set_index("seed").loc[seeds], b.set_index("seed").loc[seeds]
    rows = []
    for m in metrics:
        xa = pd.to_numeric(a[m], errors="coerce").to_numpy(float)
        xb = pd.to_numeric(b[m], errors="coerce").to_numpy(float)
        if seeds:
            d = (pd.to_numeric(pb[m], errors="coerce") - pd.to_numeric(pa[m], errors="coerce")).to_numpy(float)
            ci = mean_ci(d[~np.isnan(d)], level)
            diff, hw = ci.mean, ci.half_width
        else:
            diff = (
                float(np.nanmean(xb) - np.nanmean(xa)) if (~np.isnan(xa)).any() and (~np.isnan(xb)).any() else math.nan
            )
            hw = welch_half_width(xb, xa, level)
        low, high = diff - hw, diff + hw
        excl = bool(not math.isnan(hw) and (low > 0 or high < 0))
        rows.append(
            {
                "metric": m,
                "unit": _unit(m),
                "a_mean": _nanmean(xa),
                "b_mean": _nanmean(xb),
                "difference": diff,
                "half_width": hw,
                "ci_low": low,
                "ci_high": high,
                "excludes_zero": excl,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "metric",
            "unit",
            "a_mean",
            "b_mean",
            "difference",
            "half_width",
            "ci_low",
            "ci_high",
            "excludes_zero",
        ],
    )
    return Comparison(method=method, reason=reason, n_a=len(a), n_b=len(b), n_pairs=len(seeds), table=table)


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if len(x) else math.nan


def compare_runs(
    a_text: str, b_text: str, results: Path | None = None, metrics: list[str] | None = None
) -> tuple[RunSample, RunSample, Comparison]:
    """Read both runs and compare them; every input problem raises :class:`CompareError`."""
    a, b = read_run(a_text, results), read_run(b_text, results)
    common = [m for m in _kpi_names() if m in a.runs and m in b.runs]
    if metrics:
        unknown = [m for m in metrics if m not in common]
        if unknown:
            raise CompareError(
                f"--metric {unknown[0]}: not a KPI of both runs (they share "
                f"{len(common)} KPIs{': ' + ', '.join(common[:6]) + ', ...' if common else ''})"
            )
        common = list(dict.fromkeys(metrics))
    if not common:
        raise CompareError(f"{a.label} and {b.label} have no KPI in common")
    return a, b, compare_tables(a.runs, b.runs, common)


# --------------------------------------------------------------------------- output
def fmt(x: float, unit: str = "", difference: bool = False) -> str:
    """A number for the console and the report: rates as percentages (a difference of rates in
    percentage points), big numbers with thousands separators.

    >>> fmt(0.91234, "fraction"), fmt(0.0123, "fraction", difference=True), fmt(1234567.8, "currency")
    ('91.23%', '1.23 pp', '1,234,568')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if unit == "fraction":
        return f"{x * 100:.2f}{' pp' if difference else '%'}"
    ax = abs(x)
    if ax >= 1e4:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:,.1f}"
    return f"{x:.3f}" if ax >= 0.01 or x == 0 else f"{x:.3g}"


def _diff_text(r) -> str:
    if math.isnan(r["difference"]):
        return "n/a"
    sign = "+" if r["difference"] >= 0 else ""
    hw = "" if math.isnan(r["half_width"]) else f" ± {fmt(r['half_width'], r['unit'], True)}"
    return f"{sign}{fmt(r['difference'], r['unit'], True)}{hw}{' *' if r['excludes_zero'] else ''}"


def method_line(a: RunSample, b: RunSample, c: Comparison) -> str:
    """One line saying which method compared the runs and why."""
    if c.method == "paired":
        how = f"paired differences on {c.n_pairs} common replication seeds"
    else:
        how = f"Welch's t on {c.n_a} and {c.n_b} independent replications"
    return f"B - A with 95% CI, {how}: {c.reason}."


def format_table(a: RunSample, b: RunSample, c: Comparison) -> str:
    """The comparison as an aligned text table for the screen."""
    rows = [("KPI", "A mean", "B mean", "B - A (95% CI)", "unit")]
    for _, r in c.table.iterrows():
        rows.append((r["metric"], fmt(r["a_mean"], r["unit"]), fmt(r["b_mean"], r["unit"]), _diff_text(r), r["unit"]))
    w = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [f"  {k:<{w[0]}}  {x:>{w[1]}}  {y:>{w[2]}}  {d:>{w[3]}}  {u}" for k, x, y, d, u in rows]
    return "\n".join(lines)


def markdown(a: RunSample, b: RunSample, c: Comparison) -> str:
    """The comparison as a Markdown page (``compare.md``)."""
    out = [
        "# Comparison",
        "",
        f"- A: `{a.label}` ({c.n_a} replications, {a.folder})",
        f"- B: `{b.label}` ({c.n_b} replications, {b.folder})",
        f"- {method_line(a, b, c)}",
        "- `*`: the 95% confidence interval of the difference excludes 0.",
        "",
        "| KPI | A mean | B mean | B - A (95% CI) | unit |",
        "|---|---:|---:|---:|---|",
    ]
    for _, r in c.table.iterrows():
        out.append(
            f"| {r['metric']} | {fmt(r['a_mean'], r['unit'])} | {fmt(r['b_mean'], r['unit'])} | "
            f"{_diff_text(r).replace('*', '&#42;')} | {r['unit']} |"
        )
    return "\n".join(out) + "\n"


def write_compare(a: RunSample, b: RunSample, c: Comparison, results: Path, out: Path | None = None) -> Path:
    """Write the comparison folder (``compare.csv``/``.parquet``, ``compare.md``, ``manifest.json``) under
    ``results/compare/`` (or ``out``); return its final path."""
    from experiments.output import RunFolder, atomic_write_text, manifest, write_table

    tag = hashlib.sha1(f"{a.folder}:{a.variant}|{b.folder}:{b.variant}".encode()).hexdigest()
    with RunFolder(results, "compare", tag, out) as rf:
        write_table(rf.path, "compare", c.table)
        atomic_write_text(rf.path / "compare.md", markdown(a, b, c))
        rf.write_json(
            "manifest.json",
            manifest(
                kind="compare",
                run_a=a.label,
                run_b=b.label,
                folder_a=str(a.folder),
                folder_b=str(b.folder),
                method=c.method,
                reason=c.reason,
                n_a=c.n_a,
                n_b=c.n_b,
                n_pairs=c.n_pairs,
            ),
        )
    return rf.final
