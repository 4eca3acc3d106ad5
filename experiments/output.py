"""Run folders: written under a temporary name and renamed into place.

A run folder holds the resolved scenario, a manifest (versions, seeds,
scenario hash, command line) and the results. Nothing appears under its final
name until it is complete; an interrupted ``simulate`` still keeps the
replications that finished (the manifest says ``"interrupted": true``).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("ecomlab", "simpy", "numpy", "pandas", "pydantic", "pulp", "highspy", "matplotlib", "pyyaml")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parent.parent
        res = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5)
        return res.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def atomic_write_csv(path: Path, frame) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def manifest(**fields) -> dict:
    from sim.streams import simulator_fingerprint

    return {"created": dt.datetime.now().isoformat(timespec="seconds"), "command": sys.argv,
            "git_commit": git_commit(), "simulator_fingerprint": simulator_fingerprint(), "versions": versions(),
            **fields}


class RunFolder:
    """``with RunFolder(root, name, tag) as rf: rf.path / 'x.csv'`` -> renamed to its final name on exit."""

    def __init__(self, root: Path, name: str, tag: str, out: Path | None = None):
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.final = Path(out) if out else Path(root) / name / f"{stamp}-{tag[:8]}"
        base, i = self.final, 1
        while self.final.exists() and not out:
            i += 1
            self.final = base.with_name(f"{base.name}-{i}")
        if out and self.final.exists() and any(self.final.iterdir()):
            raise FileExistsError(f"{self.final} already exists and is not empty")
        self.path = self.final.with_name(f".{self.final.name}.partial")
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None or exc_type is KeyboardInterrupt:
            if self.final.exists():
                self.final.rmdir()
            os.replace(self.path, self.final)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
            try:  # leave no empty results/<name>/ behind a run that crashed
                self.path.parent.rmdir()
            except OSError:
                pass
        return False

    def write_json(self, name: str, data: dict) -> None:
        atomic_write_text(self.path / name, json.dumps(data, indent=2, default=str) + "\n")
