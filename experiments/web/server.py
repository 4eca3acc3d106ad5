"""Start the what-if page: ``python -m streamlit run experiments/web/app.py`` with safe options.

The page binds to 127.0.0.1 unless told otherwise. Binding to any other address needs a
token (as Jupyter does): the URL printed carries ``?token=...`` and the page refuses to
work without it. The token, the results folder and the preselected scenario reach the page
through environment variables (``ECOMLAB_WEB_*``), so the token is not on the process's
command line. Streamlit runs headless, without usage statistics and with uploads capped.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["LOOPBACK", "ServeError", "check_bind", "serve", "streamlit_command"]

#: Host names that only this machine can reach.
LOOPBACK = ("127.0.0.1", "localhost", "::1")
APP = Path(__file__).with_name("app.py")
UPLOAD_MB = 1  # Streamlit's own upload cap (MB); experiments.whatif.MAX_UPLOAD_BYTES is the real limit


class ServeError(ValueError):
    """A bad ``serve`` option: the message is one line naming the option."""


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, port: int, token: str | None) -> None:
    """Raise :class:`ServeError` (one line) for a port outside 1-65535, an empty host, a token
    that is too short, or a non-loopback host without a token."""
    if not 1 <= port <= 65535:
        raise ServeError(f"--port: {port} is not a TCP port (1-65535)")
    if not host.strip():
        raise ServeError("--host: empty; give an address such as 127.0.0.1")
    if token is not None and len(token) < 8:
        raise ServeError("--token: at least 8 characters")
    if token is None and not _is_loopback(host):
        raise ServeError(
            f"--host {host} can be reached from other machines; give --token TOKEN (8+ characters) "
            "and open the printed URL with ?token=..."
        )


def streamlit_command(host: str, port: int) -> list[str]:
    """The command line that runs the page with Streamlit on ``host:port`` (offline options)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        "--global.developmentMode=false",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        f"--server.maxUploadSize={UPLOAD_MB}",
        "--client.toolbarMode=minimal",
        "--theme.base=light",
    ]


def page_url(host: str, port: int, token: str | None) -> str:
    """The address to open, with ``?token=`` when there is one."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(scenario: str | None, host: str, port: int, token: str | None, results: Path, root: Path) -> int:
    """Check the options, print the URL and run Streamlit until it stops; its exit code.

    ``scenario``: the file preselected on the page (None: the first shipped one); ``results``:
    where runs, uploads and caches go; ``root``: the project folder (``scenarios/`` inside).
    """
    check_bind(host, port, token)
    env = dict(os.environ)
    env.update(
        ECOMLAB_WEB_RESULTS=str(Path(results).resolve()),
        ECOMLAB_WEB_ROOT=str(Path(root).resolve()),
        ECOMLAB_WEB_SCENARIO=str(Path(scenario).resolve()) if scenario else "",
        ECOMLAB_WEB_TOKEN=token or "",
    )
    env["PYTHONPATH"] = os.pathsep.join([str(Path(root).resolve()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    print(f"what-if page: {page_url(host, port, token)}  (Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(streamlit_command(host, port), env=env, cwd=str(Path(root).resolve()))
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())  # stopping serve stops Streamlit too
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        return 130
