"""The example scripts run from a clean install (reduced sizes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.xdist_group("examples")
def test_quickstart_runs_and_prints_its_table():
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), "--n", "3000"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| family | parameter | true | mle | fit (steps) |" in proc.stdout
    assert proc.stdout.count("\n|") >= 12  # header, rule and one row per parameter
