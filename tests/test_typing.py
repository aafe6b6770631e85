"""The package type-checks: mypy, configured in pyproject.toml ([tool.mypy]),
passes on expfam/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_passes():
    pytest.importorskip("mypy")
    run = subprocess.run(
        [sys.executable, "-m", "mypy"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert run.returncode == 0, f"mypy failed:\n{run.stdout}{run.stderr}"
