"""``run.py serve``: bad options are one line and exit 2 before anything starts; the token rules."""

from __future__ import annotations

import pytest

import run
from experiments.web.server import ServeError, check_bind, page_url, streamlit_command


def _serve(capsys, *argv: str) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as info:
        raise SystemExit(run.main(["serve", *argv]))
    err = capsys.readouterr().err
    return int(info.value.code or 0), [
        line for line in err.splitlines() if line.startswith(("error:", "run.py serve: error"))
    ]


def test_non_local_host_without_token_is_refused_with_one_line(capsys, tmp_path):
    code, lines = _serve(capsys, "--host", "0.0.0.0", "--results", str(tmp_path))
    assert code == 2
    assert len(lines) == 1 and "--token" in lines[0] and "0.0.0.0" in lines[0]


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_bad_port_is_refused_with_one_line(capsys, tmp_path, port):
    code, lines = _serve(capsys, "--port", port, "--results", str(tmp_path))
    assert code == 2
    assert len(lines) == 1 and "--port" in lines[0]


def test_bad_scenario_is_refused_before_the_server_starts(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("horizon_days: -1\n", encoding="utf-8")
    code, lines = _serve(capsys, str(bad), "--results", str(tmp_path / "results"))
    assert code == 2
    assert lines and all("bad.yaml" in line for line in lines)


def test_token_rules():
    check_bind("127.0.0.1", 8501, None)  # this machine only: no token needed
    check_bind("::1", 8501, None)
    check_bind("0.0.0.0", 8501, "a-long-enough-secret")
    with pytest.raises(ServeError, match="--token"):
        check_bind("192.168.1.5", 8501, None)
    with pytest.raises(ServeError, match="at least 8"):
        check_bind("127.0.0.1", 8501, "short")
    assert page_url("0.0.0.0", 9000, "s3cret-token") == "http://0.0.0.0:9000/?token=s3cret-token"
    assert page_url("127.0.0.1", 8501, None) == "http://127.0.0.1:8501/"


def test_streamlit_runs_offline_and_headless_without_the_token_on_its_command_line():
    cmd = streamlit_command("127.0.0.1", 8501)
    assert "--server.headless=true" in cmd and "--browser.gatherUsageStats=false" in cmd
    assert "--server.address=127.0.0.1" in cmd and "--server.port=8501" in cmd
    assert not any("token" in part for part in cmd)
