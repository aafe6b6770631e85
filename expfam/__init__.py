"""expfam: a JAX engine for exponential families.

p(x | η) = h(x) exp(⟨η, u(x)⟩ − A(η)). Give u, A (and h); the engine derives the
log-density, mean parameters, Fisher information, the inverse map, KL, entropy,
the maximum-likelihood residual and the MLE, for built-in and new families.
"""

from importlib.metadata import PackageNotFoundError, version

from expfam import domains
# TEMPORARY during parallel development: star imports, made explicit before merge.
from expfam._families._circular import *  # noqa: F403
from expfam._families._counts import *  # noqa: F403
from expfam._families._gamma import *  # noqa: F403
from expfam._families._gaussian import *  # noqa: F403
from expfam._families._matrix import *  # noqa: F403
from expfam._families._simplex import *  # noqa: F403
from expfam._families._counts import Poisson
from expfam._families._gamma import Gamma
from expfam._families._gaussian import MultivariateNormal, Normal
from expfam._family import ExponentialFamily
from expfam._fit import FitHistory, FitResult, FitState, fit, load_state, save_state
from expfam._natural_gradient import natural_gradient
from expfam._functional import family

try:
    __version__ = version("expfam")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ExponentialFamily",
    "FitHistory",
    "FitResult",
    "FitState",
    "fit",
    "load_state",
    "natural_gradient",
    "save_state",
    "Gamma",
    "MultivariateNormal",
    "Normal",
    "Poisson",
    "__version__",
    "domains",
    "family",
]
