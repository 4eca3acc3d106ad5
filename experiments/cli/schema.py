"""``run.py schema``: every scenario key (plain text or Markdown), or the JSON Schema of scenarios or specs."""

from __future__ import annotations

from experiments.cli import EXIT_OK, refuse


def run(args) -> int:
    """Print the reference or a JSON Schema; 2 for ``--spec`` without ``--json``."""
    from sim.scenario.reference import markdown, plain

    if args.json:
        from experiments.json_schema import schema_text

        print(schema_text("spec" if args.spec else "scenario"), end="")
        return EXIT_OK
    if args.spec:
        return refuse("--spec goes with --json (the JSON Schema of experiment specs)")
    print(markdown() if args.markdown else plain(), end="\n" if not args.markdown else "")
    return EXIT_OK
