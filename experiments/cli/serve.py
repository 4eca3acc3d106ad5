"""``run.py serve [SCENARIO]``: the what-if page on http://127.0.0.1:8501/ (see docs/whatif-page.md)."""

from __future__ import annotations

from pathlib import Path

from experiments.cli import refuse
from experiments.web.server import ServeError, check_bind, serve
from sim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def run(args) -> int:
    """Check host, port, token and the scenario (one line each if wrong, exit 2); run the page until stopped."""
    try:
        check_bind(args.host, args.port, args.token)
    except ServeError as exc:
        return refuse(str(exc))
    if args.file is not None:
        load_scenario(args.file)  # a bad file: the loader's lines, exit 2, before the server starts
    return serve(args.file, args.host, args.port, args.token, args.results, ROOT)
