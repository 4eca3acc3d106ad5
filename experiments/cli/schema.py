"""``run.py schema``: every scenario key (plain text or Markdown), or the JSON Schema of scenarios or specs."""

from __future__ import annotations

from experiments.cli import EXIT_OK, refuse


def run(args) -> int:
    """Print the reference or a JSON Schema; 2 for ``--spec`` or ``--course`` without ``--json``."""
    from sim.scenario.reference import markdown, plain

    if args.json:
        from experiments.json_schema import schema_text

        if args.spec and args.course:
            return refuse("--spec and --course: give one (the JSON Schema of specs, or of course LP files)")
        print(schema_text("spec" if args.spec else "course" if args.course else "scenario"), end="")
        return EXIT_OK
    if args.spec or args.course:
        return refuse("--spec and --course go with --json (the JSON Schema of experiment specs or course LP files)")
    print(markdown() if args.markdown else plain(), end="\n" if not args.markdown else "")
    return EXIT_OK
