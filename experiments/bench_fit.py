"""The ``fit`` group of ``run.py bench``: what ``run.py fit`` costs on a year of about a million order lines.

The export is made once, untimed, by ``docs/examples/make_order_history.py`` (the dirty example
shop at ``--scale 3.4``: about 1M lines; ``--quick``: ``--scale 0.7``, about 200k) into a temporary
folder. Each repetition then times reading, cleaning and fitting it and writing the scenario
(:func:`experiments.fit.fit_history` and :func:`experiments.fit.write_scenario`, the work of
``run.py fit`` without ``--check``); the target is the issue's: under a minute of wall time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import tempfile
import time
from pathlib import Path

from experiments.bench import ROOT, Sample, Spec, Target

__all__ = ["fit_specs"]

MAPPING = ROOT / "docs" / "examples" / "order_history.mapping.yaml"


class FitYear:
    """Fit the example export; the export is written on the first call (untimed)."""

    def __init__(self, scale: float):
        self.scale = scale
        self.folder: tempfile.TemporaryDirectory | None = None
        self.path = Path()

    def _export(self) -> None:
        spec = importlib.util.spec_from_file_location(
            "make_order_history", ROOT / "docs/examples/make_order_history.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.folder = tempfile.TemporaryDirectory()
        self.path = Path(self.folder.name) / "order_history.csv"
        with contextlib.redirect_stdout(io.StringIO()):
            module.main(["--out", str(self.path), "--scale", str(self.scale)])

    def __call__(self) -> Sample:
        """One timed fit of the export."""
        from experiments.fit import fit_history, write_scenario
        from experiments.fit.mapping import load_mapping

        if self.folder is None:
            self._export()
        cpu, wall = time.process_time(), time.perf_counter()
        result = fit_history(self.path, load_mapping(MAPPING))
        write_scenario(result, self.path.with_name("fitted.yaml"), "fitted", "bench")
        lines = result.history.rows_read
        return Sample(time.process_time() - cpu, time.perf_counter() - wall, 1, {"lines": lines})


def fit_specs(quick: bool, reps: int) -> list[Spec]:
    """One case: fitting a year of the example shop's order lines (wall seconds, target < 60 s)."""
    scale, size = (0.7, "~200k") if quick else (3.4, "~1M")
    return [
        Spec("fit/year", "fit", f"run.py fit: a year of {size} order lines (dirty example shop), read, clean, fit, write",
             "s (wall)", FitYear(scale), 1 if quick else min(reps, 3), lambda s: s.wall,
             (Target("value", "<", 60.0, "< 60 s"),)),
    ]  # fmt: skip
