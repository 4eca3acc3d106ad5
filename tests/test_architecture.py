"""The layering and size rules of docs/architecture.md, checked on the source itself.

* ``sim`` imports neither ``optimize`` nor ``experiments``; ``optimize`` imports only ``sim``
  (of our packages); nothing imports another package's private names;
* every function is under 60 lines, except the argparse set-up (``build_parser``);
* each package's ``__all__`` names only what it really exports.

Docstrings on every public module, class and function are checked by ruff (pydocstyle's
D1 rules in ``pyproject.toml``), complexity by ruff's C901.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sim", "optimize", "experiments")
MAX_FUNCTION_LINES = 59
ARGPARSE_SETUP = {("run.py", "build_parser")}


def _sources() -> list[Path]:
    files = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    return [*files, ROOT / "run.py"]


def _top_package(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(tree: ast.AST) -> list[tuple[str, list[str], int]]:
    """(module, imported names, line) of every absolute import in a module."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module, [alias.name for alias in node.names], node.lineno))
    return out


def _package_of(module: str) -> str:
    """The package a module belongs to: ``sim.<sub>`` inside sim, else the top-level package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "sim" and len(parts) > 2 else parts[0]


ALLOWED = {"sim": {"sim"}, "optimize": {"sim", "optimize"}}


def test_imports_go_one_way_and_never_take_another_packages_private_names():
    problems = []
    for path in _sources():
        own = _top_package(path)
        rel = path.relative_to(ROOT)
        for module, names, line in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            top = module.split(".")[0]
            if top not in PACKAGES:
                continue
            if own in ALLOWED and top not in ALLOWED[own]:
                problems.append(f"{rel}:{line}: {own} must not import {module}")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            # a private name may be shared inside its own package (sim.model, sim.scenario, optimize, ...)
            home, inside = _package_of(module), _package_of(".".join(rel.with_suffix("").parts))
            if private and home != inside and not str(rel).startswith("tests"):
                problems.append(f"{rel}:{line}: imports private {private} from {module}")
            if any(part.startswith("_") and part != "__init__" for part in module.split(".")[1:]) and not (
                module.startswith(inside)
            ):
                problems.append(f"{rel}:{line}: imports the private module {module}")
    assert problems == []


def test_every_function_is_under_60_lines_except_the_argparse_set_up():
    long = []
    for path in _sources():
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and (rel, node.name) not in ARGPARSE_SETUP:
                    long.append(f"{rel}:{node.lineno}: {node.name} has {lines} lines")
    assert long == []


@pytest.mark.parametrize("package", ["sim", "sim.scenario", "sim.model", "sim.theory", "optimize"])
def test_all_names_only_what_the_package_exports(package):
    mod = importlib.import_module(package)
    assert mod.__doc__, f"{package} has no docstring"
    folder = ROOT / package.replace(".", "/")
    missing = [name for name in mod.__all__ if not hasattr(mod, name) and not (folder / f"{name}.py").exists()]
    assert missing == []
    assert len(set(mod.__all__)) == len(mod.__all__)
