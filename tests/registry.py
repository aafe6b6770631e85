"""The registry of every built-in family the generic tests run over.

Each group of families keeps its cases in ``tests/cases/<group>.py`` as a list
``CASES`` of :class:`Case`; this module gathers them.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import expfam as ef


@dataclasses.dataclass
class Case:
    """One family with its test parameters and its scipy reference.

    Attributes:
      id: test id.
      family: the family instance.
      params: conventional-parameter dicts (``natural_from`` keywords): typical
        values and extreme ones (tiny and huge rates, shapes near 0, ...). The
        scipy comparisons run over all of them.
      typical: one moderate parameter dict for Monte Carlo checks.
      scipy: conventional params -> frozen scipy.stats distribution (or None).
      moments: (flat ∇A, ∇²A, params) -> (mean, variance) of x to compare with
        the scipy distribution's ``mean()`` and ``var()``; None skips.
      bad_data: observations outside the support (each must raise).
      scipy_moments: frozen dist -> (mean, variance); default
        ``(dist.mean(), dist.var())``.
      reference_entropy: params -> entropy, for parameters where scipy's own
        ``entropy()`` is unreliable (an independent computation); default
        ``dist.entropy()``.
      logpdf: name of the scipy method for the density (``logpdf``/``logpmf``).
      to_scipy: maps a batch of expfam observations to scipy's convention.
    """

    id: str
    family: ef.ExponentialFamily
    params: list[dict[str, Any]]
    typical: dict[str, Any]
    scipy: Callable[[dict[str, Any]], Any] | None
    moments: Callable[[np.ndarray, np.ndarray, dict[str, Any]], tuple] | None
    bad_data: list[Any]
    scipy_moments: Callable[[Any], tuple] | None = None
    reference_entropy: Callable[[dict[str, Any]], float] | None = None
    logpdf: str = "logpdf"
    to_scipy: Callable[[np.ndarray], np.ndarray] = lambda x: x


def x_moments(index: int) -> Callable:
    """Mean and variance of x when x is the ``index``-th flattened statistic."""

    def moments(mu: np.ndarray, fisher: np.ndarray, params: dict) -> tuple:
        return mu[index], fisher[index, index]

    return moments


def _load() -> list[Case]:
    from tests import cases

    found: list[Case] = []
    for info in sorted(pkgutil.iter_modules(cases.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"tests.cases.{info.name}")
        found.extend(module.CASES)
    return found


def params(cases: list[Case]) -> list:
    """pytest params for ``cases``, grouped by family for ``--dist loadgroup``:
    every test of one family runs in one worker and reuses its compilations."""
    return [
        pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in cases
    ]


CASES: list[Case] = _load()
IDS = [case.id for case in CASES]
PARAMS = params(CASES)
