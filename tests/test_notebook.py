"""The example notebook docs/examples/python_api.ipynb runs from top to bottom without an error.

It is executed with nbclient on the ``python3`` kernel, which ipykernel (a dev dependency)
registers for the interpreter it is installed in, so the notebook sees this venv's packages.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = ROOT / "docs" / "examples" / "python_api.ipynb"


def test_python_api_notebook_executes(monkeypatch):
    """The Python API notebook runs top to bottom: no error cell, the InputError shown, the report, two plots."""
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the notebook shows its figures inline
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "reoder_point" in text  # the InputError cell printed its problem
    assert "('report.html', True" in text  # run_experiment wrote the report
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2, "the two plots were not shown"


def test_the_kernel_is_this_interpreter():
    """The notebook's python3 kernel is the interpreter running the tests (so it sees this checkout)."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    exe = spec.argv[0]
    assert exe in ("python", sys.executable) or Path(exe).resolve() == Path(sys.executable).resolve(), spec.argv
