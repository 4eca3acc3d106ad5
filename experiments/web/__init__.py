"""The what-if page: a local Streamlit app over :mod:`experiments.whatif` (``run.py serve``).

:mod:`experiments.web.server` starts Streamlit on ``app.py`` (offline, headless, no usage
statistics); ``app.py`` is the page script and only calls the public Python API
(:mod:`experiments.whatif`, :func:`sim.scenario.explain.explain`).
"""

from __future__ import annotations

from experiments.web.server import LOOPBACK, ServeError, check_bind, serve, streamlit_command

__all__ = ["LOOPBACK", "ServeError", "check_bind", "serve", "streamlit_command"]
