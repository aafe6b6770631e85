"""A/B timing of the working tree against another revision, on one machine.

This shared machine's speed drifts by up to 2× between minutes, so two
benchmark runs taken a minute apart cannot tell a 10 % change. This script
alternates the two versions round by round, each in a fresh process that
imports its own copy of expfam, and reports the median of the per-round
ratios: drift slower than one round cancels out.

The timing script is any Python file whose last line of output ends with a
number (its time, in any unit; smaller is better), for example
``benchmarks/time_poisson_glm.py``. The other revision's ``expfam`` package
is extracted with ``git archive`` into a temporary folder and put first on
``PYTHONPATH``; the working tree's is put first for the other side. Each
child reports which ``expfam`` it imported, and the script checks it.

    python benchmarks/ab.py HEAD~1 benchmarks/time_poisson_glm.py --rounds 9
    python benchmarks/ab.py main benchmarks/time_poisson_glm.py -- --n 200000
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")
_WHERE = "import expfam, sys; sys.stdout.write(expfam.__file__)"


def _extract(rev: str, into: Path) -> None:
    """``expfam/`` as of ``rev``, written under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "expfam"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def _check_import(root: Path) -> None:
    where = subprocess.run(
        [sys.executable, "-c", _WHERE],
        env=_env(root),
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if not Path(where).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"ab.py: a child imported {where}, not expfam under {root}")


def _time(root: Path, script: str, args: list[str]) -> float:
    run = subprocess.run(
        [sys.executable, str(Path(script).resolve()), *args],
        env=_env(root),
        cwd=root,
        capture_output=True,
        text=True,
    )
    if run.returncode:
        raise SystemExit(
            f"ab.py: {script} failed with the expfam under {root} (exit "
            f"{run.returncode}):\n{run.stderr[-2000:]}"
        )
    out = run.stdout.strip()
    last = out.splitlines()[-1] if out else ""
    match = _NUMBER.search(last)
    if match is None:
        raise SystemExit(f"ab.py: {script}'s last line has no number: {last!r}")
    return float(match.group())


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the revision to compare against (git rev)")
    parser.add_argument("script", help="a timing script; last line ends in a number")
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="expfam-ab-") as tmp:
        old_root = Path(tmp)
        _extract(options.rev, old_root)
        sides = {options.rev: old_root, "working tree": ROOT}
        for root in sides.values():
            _check_import(root)
        times: dict[str, list[float]] = {name: [] for name in sides}
        order = list(sides)
        for i in range(options.rounds):
            # Alternate which side runs first, so neither always follows the other.
            for name in order if i % 2 == 0 else order[::-1]:
                times[name].append(_time(sides[name], options.script, extra))
            print(
                f"round {i + 1}: "
                + ", ".join(f"{name} {times[name][-1]:.4g}" for name in order),
                flush=True,
            )
    old, new = (times[name] for name in order)
    ratios = [b / a for a, b in zip(old, new, strict=True)]
    print()
    print("| side | median | min | max |\n| --- | ---: | ---: | ---: |")
    for name in order:
        t = times[name]
        print(f"| {name} | {statistics.median(t):.4g} | {min(t):.4g} | {max(t):.4g} |")
    print(
        f"\nworking tree / {options.rev}: median ratio {statistics.median(ratios):.3f}"
        f" (per round {min(ratios):.3f}–{max(ratios):.3f}, {options.rounds} rounds)"
    )


if __name__ == "__main__":
    main()
