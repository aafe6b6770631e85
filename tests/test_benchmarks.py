"""The A/B helper in benchmarks/: it runs, imports each side's own expfam,
and reads the timing script's number."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="needs a git checkout",
)


def _ab(script: Path, rounds: int) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "benchmarks" / "ab.py"), "HEAD"]
    return subprocess.run(
        [*command, str(script), "--rounds", str(rounds)],
        capture_output=True,
        text=True,
        cwd=script.parent,
    )


def test_ab_reports_each_side_and_the_ratio(tmp_path):
    script = tmp_path / "timing.py"
    # The number printed is the length of the imported package's path, so
    # each side's figure also says which expfam it imported.
    script.write_text("import expfam\nprint('path length', len(expfam.__file__))\n")
    run = _ab(script, rounds=2)
    assert run.returncode == 0, run.stderr
    own = len(str(ROOT / "expfam" / "__init__.py"))
    assert f"working tree {own}" in run.stdout
    rounds = [line for line in run.stdout.splitlines() if line.startswith("round ")]
    assert len(rounds) == 2
    # The other side imported the extracted copy, whose path differs.
    head = int(re.search(r"HEAD (\d+)", rounds[0]).group(1))
    assert head != own
    assert f"median ratio {own / head:.3f}" in run.stdout


def test_ab_rejects_a_script_without_a_number(tmp_path):
    script = tmp_path / "silent.py"
    script.write_text("print('no figure here')\n")
    run = _ab(script, rounds=1)
    assert run.returncode != 0
    assert "has no number" in run.stderr
