"""Runs an example script in this process, as the smoke tests of ``examples/`` do.

Every example exposes ``main(argv: list[str] | None = None) -> dict`` (its key
numbers) and saves its figures as ``<stem>*.png`` under ``--out DIR``. Running
in-process reuses the test session's JAX import and compilation cache, which
keeps a dozen smoke runs inside the suite's time budget.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

os.environ.setdefault("MPLBACKEND", "Agg")


def load_example(stem: str):
    """Imports ``examples/<stem>.py`` as a module (not run as a script)."""
    path = EXAMPLES / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"example_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_example(stem: str, out: Path, *argv: str) -> dict[str, Any]:
    """``main([*argv, "--out", out])``; asserts it left at least one PNG there."""
    import matplotlib.pyplot as plt

    module = load_example(stem)
    result = module.main([*argv, "--out", str(out)])
    plt.close("all")
    pngs = sorted(Path(out).glob(f"{stem}*.png"))
    assert pngs, f"{stem} saved no {stem}*.png under {out}"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    assert isinstance(result, dict), f"{stem}.main must return its key numbers"
    return result
