"""The benches' stage lines: one as a stage starts, one as it ends with its elapsed seconds."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

from perf.load import run as load_run
from perf.shared.progress import stage


def test_a_stage_says_when_it_starts_and_how_long_it_took(capsys: pytest.CaptureFixture[str]) -> None:
    with stage("seeding"):
        assert capsys.readouterr().out == "seeding ...\n"  # before the work, not after it
        time.sleep(0.2)
    [line] = capsys.readouterr().out.splitlines()
    found = re.fullmatch(r"seeding: done in (\d+\.\d) s", line)
    assert found is not None, line
    assert 0.2 <= float(found.group(1)) < 5


def test_a_stage_that_raises_says_so_and_lets_the_error_through(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError, match="no samples"), stage("report"):
        raise RuntimeError("no samples")
    assert re.fullmatch(r"report \.\.\.\nreport: failed after \d+\.\d s\n", capsys.readouterr().out)


def test_the_timed_load_says_how_far_it_is_while_locust_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stand-in for Locust that runs a second, and a heartbeat every 0.3 s
    monkeypatch.setattr(load_run, "HEARTBEAT_SECONDS", 0.3)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    # When the load waits for it
    load_run._wait_telling_time(process, 60)
    # Then it said where the run stood a few times, and that it ended in time
    lines = capsys.readouterr().out.splitlines()
    assert 2 <= len(lines) <= 4, lines
    assert all(re.fullmatch(r"  \d+ s of 60 s", line) for line in lines), lines
    assert process.returncode == 0
