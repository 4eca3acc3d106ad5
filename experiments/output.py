"""Run folders: written under a temporary name and renamed into place.

A run folder holds the resolved scenario, a manifest (versions, seeds,
scenario hash, command line) and the results. Nothing appears under its final
name until it is complete; an interrupted ``simulate`` still keeps the
replications that finished (the manifest says ``"interrupted": true``). The
partial folder a killed run leaves behind is removed by the next run beside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Literal

MANIFEST = "manifest.json"  # a run folder's manifest: versions, seed, scenario hash, command line

PACKAGES = (
    "ecomlab",
    "simpy",
    "numpy",
    "pandas",
    "pydantic",
    "pulp",
    "highspy",
    "matplotlib",
    "pyyaml",
    "pyarrow",
    "openpyxl",
    "scipy",
)


def versions() -> dict[str, str]:
    """The Python version and the installed version of each of ``PACKAGES`` ("not installed" if absent)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The short commit of the checkout this code runs from, or None (no git, not a checkout)."""
    try:
        root = Path(__file__).resolve().parent.parent
        res = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        return res.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class OutputPathError(ValueError):
    """An output location that cannot be used: outside its root, a file where a folder goes, not writable.

    ``str()`` is one line naming the argument or path; ``run.py`` prints it and exits 2.
    """


def inside(root: Path, path: Path) -> Path:
    """``path`` itself if it stays inside ``root``, else :class:`OutputPathError`.

    ``..`` and symlinks in the folders above ``path`` are resolved (its last part is
    not followed, so a ``latest`` symlink is judged by where it lives, not where it points).

    >>> inside(Path("results"), Path("results/demo/cache")).as_posix()
    'results/demo/cache'
    >>> try:
    ...     inside(Path("results"), Path("results/../x"))
    ... except OutputPathError as exc:
    ...     print(exc)
    results/../x is outside results/
    """
    base = Path(root).resolve()
    p = Path(path)
    where = p.resolve() if p.name in ("", ".", "..") else p.parent.resolve() / p.name
    if where != base and base not in where.parents:
        raise OutputPathError(f"{path} is outside {root}/")
    return p


def _nearest_existing(path: Path) -> Path:
    p = Path(os.path.abspath(path))
    while not (p.exists() or p.is_symlink()) and p != p.parent:
        p = p.parent
    return p


def _probe(folder: Path, flag: str, path: Path) -> None:
    """Create and remove a file in ``folder``: the one sure test that it is writable (root included)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".ecomlab-probe-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise OutputPathError(
            f"{flag}: cannot write {path}: {folder} is not writable ({exc.strerror or exc})"
        ) from None


def writable_folder(path: Path, flag: str) -> Path:
    """``path`` if a folder can be created (or written) there, else one clear :class:`OutputPathError`.

    Checked before any work starts: an existing file (or FIFO, device) in the way, a
    file among the folders above it, or a folder that refuses a probe file.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        kind = "a file" if p.is_file() else "not a folder"
        raise OutputPathError(f"{flag}: {p} is {kind}, not a folder to write into")
    return _probe_from(p, p, flag)


def _probe_from(p: Path, start: Path, flag: str) -> Path:
    """``p`` if the nearest existing folder at or above ``start`` takes a probe file."""
    ancestor = _nearest_existing(start)
    if not ancestor.is_dir():
        raise OutputPathError(f"{flag}: {p} is under {ancestor}, which is a file, not a folder")
    _probe(ancestor, flag, p)
    return p


def writable_file(path: Path, flag: str) -> Path:
    """``path`` if a regular file can be written there (replacing a regular file is fine)."""
    p = Path(path)
    if p.is_dir():
        raise OutputPathError(f"{flag}: {p} is a folder, not a file name")
    if (p.exists() or p.is_symlink()) and not p.is_file():
        raise OutputPathError(f"{flag}: {p} exists and is not a regular file")
    return _probe_from(p, p.parent if str(p.parent) else Path("."), flag)


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` all at once: ``write(tmp)`` fills a temp file beside it, which is renamed into place.

    The temp file (``.NAME.XXXX.tmp`` in the same folder, so the rename is atomic) gets the
    normal mode of a new file (0666 minus the umask) before ``os.replace``; a reader sees the
    old file or the complete new one, never half of it. If ``write`` fails (or Ctrl-C) the
    temp file is removed and ``path`` is untouched. Missing folders are created. Returns ``path``.

    >>> import tempfile
    >>> p = atomic_write(Path(tempfile.mkdtemp()) / "a.txt", lambda tmp: tmp.write_bytes(b"hi"))
    >>> p.read_bytes(), sorted(x.name for x in p.parent.iterdir())
    (b'hi', ['a.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` as UTF-8 with ``\\n`` line ends, atomically (:func:`atomic_write`)."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)

    return atomic_write(path, write)


def atomic_write_csv(path: Path, frame) -> Path:
    """Write DataFrame ``frame`` to ``path`` as CSV without the index, atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def manifest(**fields) -> dict:
    """A run's manifest: creation time, command line, git commit, simulator fingerprint and
    package versions, then ``fields`` (kind, seed, scenario hash, ...)."""
    from sim.model.streams import simulator_fingerprint

    return {
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "command": sys.argv,
        "git_commit": git_commit(),
        "simulator_fingerprint": simulator_fingerprint(),
        "versions": versions(),
        **fields,
    }


STALE_SECONDS = 600  # a leftover whose owner cannot be told is removed once it is this old


def owner_alive(pid: int | None, host: str | None = None) -> bool:
    """Is process ``pid`` (on ``host``, default this machine) still running? Unknown -> True (keep)."""
    if host not in (None, platform.node()):
        return True  # another machine's process: it cannot be checked from here
    if pid is None or pid <= 0:
        return False
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate it on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, under another user
        return True
    return True


def older_than(path: Path, seconds: float) -> bool:
    """Was ``path`` last modified more than ``seconds`` ago? False if it cannot be read."""
    try:
        return dt.datetime.now().timestamp() - path.stat().st_mtime > seconds
    except OSError:
        return False


class RunFolder:
    """``with RunFolder(root, name, tag) as rf: rf.path / 'x.csv'`` -> renamed to its final name on exit.

    While it is written the folder is ``.NAME.partial`` with an ``.owner`` file naming the
    process. A run killed outright (SIGKILL, power cut) leaves its partial folder behind;
    the next RunFolder created beside it removes it once its owner is gone (or, with no
    owner file, once it is older than ``STALE_SECONDS``). A live run's folder is never touched.
    """

    OWNER = ".owner"

    def __init__(self, root: Path, name: str, tag: str, out: Path | None = None):
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.final = Path(out) if out else Path(root) / name / f"{stamp}-{tag[:8]}"
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.remove_stale_partials(self.final.parent)
        base, i = self.final, 1
        while not out and (self.final.exists() or self._partial(self.final).exists()):
            i += 1  # finished, or being written by a concurrent run started in the same second
            self.final = base.with_name(f"{base.name}-{i}")
        if out and self.final.exists() and any(self.final.iterdir()):
            raise FileExistsError(f"{self.final} already exists and is not empty")
        self.path = self._partial(self.final)
        if self.path.exists():  # only a live owner is left after remove_stale_partials
            raise FileExistsError(f"{self.final} is being written by another run ({self.path})")
        self.path.mkdir()
        (self.path / self.OWNER).write_text(json.dumps({"pid": os.getpid(), "host": platform.node()}))

    @staticmethod
    def _partial(final: Path) -> Path:
        return final.with_name(f".{final.name}.partial")

    @classmethod
    def is_stale(cls, partial: Path) -> bool:
        """A partial folder whose writer is gone (see the class docstring)."""
        try:
            owner = json.loads((partial / cls.OWNER).read_text())
            return not owner_alive(int(owner["pid"]), owner.get("host"))
        except (OSError, ValueError, TypeError, KeyError):  # no owner file (older code) or a damaged one
            return older_than(partial, STALE_SECONDS)

    @classmethod
    def remove_stale_partials(cls, folder: Path) -> list[Path]:
        """Delete the ``.*.partial`` folders in ``folder`` left by runs that were killed; return them."""
        removed = []
        for p in sorted(Path(folder).glob(".*.partial")):
            if p.is_dir() and not p.is_symlink() and cls.is_stale(p):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
        return removed

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        if exc_type is None or exc_type is KeyboardInterrupt:
            if self.final.exists():
                self.final.rmdir()
            (self.path / self.OWNER).unlink(missing_ok=True)
            os.replace(self.path, self.final)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
            with contextlib.suppress(OSError):  # leave no empty results/<name>/ behind a run that crashed
                self.path.parent.rmdir()
        return False

    def write_json(self, name: str, data: dict) -> Path:
        """Write ``data`` as indented JSON to ``name`` in the run folder (atomically); return its path."""
        return atomic_write_text(self.path / name, json.dumps(data, indent=2, default=str) + "\n")

    def write_manifest(self, **fields) -> dict:
        """Write ``manifest.json`` (:func:`manifest` with ``fields``) into the run folder; return the manifest."""
        info = manifest(**fields)
        self.write_json(MANIFEST, info)
        return info


# ---------------------------------------------------------------- tables: CSV + Parquet, Excel workbook
def _parquet_ready(frame):
    """``frame`` with every object column that Arrow cannot type as one kind turned into text.

    A column mixing numbers and text (a grid parameter that is 3 in one variant and "eoq" in
    another, the ``error`` column) would make pyarrow refuse the table.
    """
    import pyarrow as pa

    out = frame
    for col in frame.columns:
        if frame[col].dtype != object:
            continue
        try:
            pa.array(frame[col], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            if out is frame:
                out = frame.copy()
            out[col] = frame[col].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
    return out


def write_table(folder: Path, name: str, frame) -> list[Path]:
    """Write ``folder/name.csv`` and ``folder/name.parquet`` (each to a temp name, then renamed).

    Both hold the same table; the CSV for spreadsheets and eyes, the Parquet (pyarrow) for
    pandas, Polars, DuckDB or R with the column types kept. Returns the two paths.
    """
    folder = Path(folder)
    csv = atomic_write_csv(folder / f"{name}.csv", frame)
    ready = _parquet_ready(frame)
    parquet = atomic_write(folder / f"{name}.parquet", lambda tmp: ready.to_parquet(tmp, index=False, engine="pyarrow"))
    return [csv, parquet]


def _kpi_unit(metric) -> str:
    from sim.metrics import KPI_INFO

    info = KPI_INFO.get(metric) if isinstance(metric, str) else None
    if info is None:
        return ""
    return info[0] if isinstance(info, tuple) else str(getattr(info, "unit", ""))


PERCENT, MONEY, NUMBER, COUNT, AMOUNT = "0.0%", "#,##0.00", "#,##0.000", "#,##0", "#,##0.0"
_COUNT_UNITS = ("orders", "units", "lines", "jobs")
_STAT_COLUMNS = ("mean", "std", "half_width", "ci_low", "ci_high", "mean_diff", "unpaired_half_width")


def number_format(unit: str, column: str) -> str:
    """The Excel number format of a statistic of a KPI with ``unit``.

    Fractions as percentages (a CI half-width of a rate as well: 0.00%), money with thousands
    separators, counts (orders, units) with one decimal, ``n`` as a whole number, anything
    else with three decimals.

    >>> number_format("fraction", "mean"), number_format("currency/day", "ci_low"), number_format("", "n")
    ('0.0%', '#,##0.00', '#,##0')
    """
    if column == "n":
        return COUNT
    if unit == "fraction":
        return "0.00%" if column in ("std", "half_width", "unpaired_half_width") else PERCENT
    if unit.startswith("currency"):
        return MONEY
    if unit in _COUNT_UNITS:
        return AMOUNT
    return NUMBER


def _sheet(wb, title: str, frame) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    cols = list(frame.columns)
    ws.append(cols)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    widths = [len(str(c)) for c in cols]
    metric_at = cols.index("metric") if "metric" in cols else None
    # the row number is counted, not read from ws.max_row: openpyxl scans every cell for it
    for r, row in enumerate(frame.itertuples(index=False, name=None), start=2):
        unit = _kpi_unit(row[metric_at]) if metric_at is not None else ""
        values: list = []
        for v in row:
            if v is None or (isinstance(v, float) and v != v):
                values.append(None)  # an empty cell, not the text 'nan'
            elif hasattr(v, "item") and not isinstance(v, str):
                values.append(v.item())  # numpy scalars -> Python numbers
            else:
                values.append(v)
        ws.append(values)
        for j, (col, v) in enumerate(zip(cols, values)):
            cell = ws.cell(row=r, column=j + 1)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if col in _STAT_COLUMNS or col == "n":
                    cell.number_format = number_format(unit, col)
                elif isinstance(v, float):
                    cell.number_format = NUMBER
                shown = _shown(v, cell.number_format)
            else:
                shown = "" if v is None else str(v)
            widths[j] = max(widths[j], len(shown))
    for j, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = min(w + 2, 60)
    ws.freeze_panes = "A2"


def _shown(v: float, fmt: str) -> str:
    """About what Excel shows for ``v`` in ``fmt`` (for the column width)."""
    if fmt.endswith("%"):
        decimals = len(fmt.split(".")[1]) - 1 if "." in fmt else 0
        return f"{v * 100:,.{decimals}f}%"
    decimals = len(fmt.split(".")[1]) if "." in fmt else 0
    return f"{v:,.{decimals}f}"


def write_workbook(path: Path, sheets: dict) -> Path:
    """One Excel workbook (openpyxl), one sheet per table of ``sheets`` (name -> DataFrame).

    Header bold and frozen, columns fitted to their contents, statistics formatted by the
    unit of their row's KPI (``metric`` column; ``sim.metrics.KPI_INFO``): fractions as
    percentages, money with thousands separators. Written to a temp name, then renamed.
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, frame in sheets.items():
        if frame is not None:
            _sheet(wb, title[:31], frame)
    return atomic_write(path, wb.save)
