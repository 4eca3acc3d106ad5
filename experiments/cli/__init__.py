"""The command line's handlers: one thin module per command of ``run.py``.

``run.py`` builds the argparse parser; :func:`dispatch` checks the output locations, imports
the command's module (only that one, so ``run.py validate`` stays quick) and calls its
``run(args)``, which calls the library (:mod:`experiments.api`, :mod:`experiments.verify`,
``sim``, ``optimize``), prints, writes and returns the exit code. Errors every command shares
are turned into one line and an exit code here.

Exit codes: 0 success, 1 a run failed, 2 bad input (nothing written), 3 infeasible
optimization (nothing written), 130 interrupted.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

__all__ = ["EXIT_FAILED", "EXIT_INFEASIBLE", "EXIT_INPUT", "EXIT_INTERRUPTED", "EXIT_OK", "dispatch", "refuse"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: command -> the module of experiments.cli that handles it
COMMANDS = {
    "validate": "validate",
    "simulate": "simulate",
    "experiment": "experiment",
    "compare": "compare",
    "optimize": "optimize",
    "list": "listing",
    "explain": "explain",
    "schema": "schema",
    "check-theory": "check_theory",
    "bench": "bench",
    "serve": "serve",
    "fit": "fit",
}


def refuse(message: str) -> int:
    """Print ``error: MESSAGE`` on stderr; return the bad-input exit code (2)."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_INPUT


def print_problems(exc) -> int:
    """One ``error:`` line per problem of an ``InputError``, then the count; return exit code 2."""
    for problem in exc.problems:
        print(f"error: {problem}", file=sys.stderr)
    n = len(exc.problems)
    print(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.", file=sys.stderr)
    return EXIT_INPUT


def check_output_locations(args) -> None:
    """The folder or file each command will write is usable: checked before any work starts.

    Raises ``OutputPathError`` (one line naming the argument): a file where a folder goes,
    a path under a file, a folder that refuses a probe file, a plan ``--out`` that is a folder.
    """
    from experiments.output import OutputPathError, writable_file, writable_folder

    out = getattr(args, "out", None)
    if args.command in ("simulate", "experiment", "bench", "compare", "serve"):
        if out is not None:
            writable_folder(out, "--out")
        else:
            writable_folder(args.results, "--results")
    elif args.command == "fit":
        if Path(args.out).suffix.lower() not in (".yaml", ".yml"):
            raise OutputPathError(f"--out: {args.out} must be a .yaml file (the fitted scenario)")
        writable_file(args.out, "--out")
        if args.check:
            writable_folder(args.results, "--results")
    elif args.command == "optimize":
        if getattr(args, "sweep", None) or (args.decision == "promotion" and getattr(args, "verify", None)):
            writable_folder(args.results, "--results")
        if getattr(args, "sweep", None):
            pass
        elif out is not None:
            writable_file(out, "--out")
            if args.decision in ("reorder", "promotion"):  # the table goes beside the overlay
                csv = Path(out).with_suffix(".csv")
                if csv == Path(out):
                    raise OutputPathError(
                        f"--out: {out} would be overwritten by the plan's CSV table; give the overlay a .yaml name"
                    )
                writable_file(csv, "--out (its CSV table)")


def dispatch(args) -> int:
    """Run the parsed command; map the errors every command shares to one line and an exit code."""
    from experiments.output import OutputPathError
    from sim.scenario.errors import InputError

    try:
        check_output_locations(args)
        return importlib.import_module(f"experiments.cli.{COMMANDS[args.command]}").run(args)
    except InputError as exc:
        return print_problems(exc)
    except (OutputPathError, FileExistsError) as exc:
        return refuse(f"{exc}; nothing was written.")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
