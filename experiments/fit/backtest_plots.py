"""The backtest's three figures: daily orders in the simulated band, the weekday and monthly profiles,
lines per order beside the SKU rank-frequency curve (PNG, 150 dpi, written atomically)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.dates import ConciseDateFormatter

from experiments.output import atomic_write
from experiments.plot_style import PlainFormatter

__all__ = ["backtest_plots"]

HISTORY, MODEL = "#222222", "#4C72B0"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _save(fig, path: Path) -> Path:
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=150))
    finally:
        plt.close(fig)
    return path


def _daily(bt, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 4.2), layout="constrained")
    lo, hi = np.quantile(bt.sim_daily, [0.025, 0.975], axis=0)
    x = bt.dates.to_pydatetime()
    ax.fill_between(x, lo, hi, color=MODEL, alpha=0.25, linewidth=0, label="model: 95% of replications")
    ax.plot(x, np.median(bt.sim_daily, axis=0), color=MODEL, linewidth=1, label="model: median")
    h = np.where(bt.gap, np.nan, bt.history_daily)
    ax.plot(x, h, color=HISTORY, linewidth=0.9, label="history")
    if bt.gap.any():
        ax.plot(
            bt.dates[bt.gap].to_pydatetime(), np.zeros(int(bt.gap.sum())), "x", color="#c62828", label="gap (missing)"
        )
    ax.xaxis.set_major_formatter(ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.set_ylabel("orders per day")
    ax.yaxis.set_major_formatter(PlainFormatter())
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", frameon=False, ncol=4, fontsize=9)
    ax.set_title("Daily orders: history against the fitted model")
    return _save(fig, path)


def _profiles(bt, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained", gridspec_kw={"width_ratios": [7, 12]})
    for ax, name, labels in zip(axes, ("weekday profile", "monthly profile"), (WEEKDAYS, MONTHS)):
        h, sim = bt.profiles[name]
        share_h = h / h.sum()
        shares = sim / sim.sum(axis=1, keepdims=True)
        lo, hi = np.quantile(shares, [0.025, 0.975], axis=0)
        x = np.arange(len(labels))
        mid = shares.mean(axis=0)
        ax.bar(x, mid, color=MODEL, alpha=0.45, label="model (95% of replications)")
        ax.errorbar(x, mid, yerr=[mid - lo, hi - mid], fmt="none", ecolor=MODEL, capsize=3)
        ax.plot(x, share_h, "o", color=HISTORY, label="history")
        ax.set_xticks(x, labels)
        ax.yaxis.set_major_formatter(PlainFormatter(scale=100, suffix="%"))
        ax.set_title(f"Share of orders by {'weekday' if name.startswith('weekday') else 'month'}")
    axes[0].legend(loc="lower left", frameon=False, fontsize=8)
    return _save(fig, path)


def _mix(bt, path: Path) -> Path:
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    _lines(bt, ax)
    _ranks(bt, ax2)
    return _save(fig, path)


def _lines(bt, ax) -> None:
    h, sim = bt.profiles["lines per order"]
    shares = sim / sim.sum(axis=1, keepdims=True)
    x = np.arange(1, len(h) + 1)
    ax.bar(x, shares.mean(axis=0), color=MODEL, alpha=0.45, label="model")
    ax.plot(x, h / h.sum(), "o", color=HISTORY, label="history")
    ax.set_yscale("log")
    ax.set_xticks(x, [str(i) for i in x[:-1]] + [f"{x[-1]}+"])
    ax.set_xlabel("lines per order")
    ax.set_ylabel("share of orders (log scale)")
    ax.legend(frameon=False)
    ax.set_title("Lines per order")


def _ranks(bt, ax) -> None:
    r = np.arange(1, len(bt.rank_history) + 1)
    lo, hi = np.quantile(bt.rank_sim, [0.025, 0.975], axis=0)
    ax.fill_between(
        r, np.maximum(lo, 1e-9), np.maximum(hi, 1e-9), color=MODEL, alpha=0.3, linewidth=0, label="model: 95%"
    )
    keep = bt.rank_history > 0
    ax.plot(r[keep], bt.rank_history[keep], color=HISTORY, linewidth=1, label="history")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("SKU rank by lines sold")
    ax.set_ylabel("share of lines")
    ax.legend(frameon=False)
    ax.set_title("SKU popularity (rank-frequency)")


def backtest_plots(bt, out_dir: Path) -> list[tuple[str, Path]]:
    """Write the three figures into ``out_dir``; (caption, path) pairs for the report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        (
            "Daily orders: the history against the band 95% of the fitted model's replications fall in",
            _daily(bt, out_dir / "daily_orders.png"),
        ),
        ("Weekday and monthly profile: each one's share of the orders", _profiles(bt, out_dir / "profiles.png")),
        (
            "Lines per order, and SKU popularity: the share of lines by rank (log-log)",
            _mix(bt, out_dir / "order_mix.png"),
        ),
    ]
