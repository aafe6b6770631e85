"""expfam: a JAX engine for exponential families.

p(x | η) = h(x) exp(⟨η, u(x)⟩ − A(η)). Give u, A (and h); the engine derives the
log-density, mean parameters, Fisher information, the inverse map, KL, entropy,
the maximum-likelihood residual and the MLE, for built-in and new families, and
fits them by minibatch maximum likelihood with optax.
"""

from importlib.metadata import PackageNotFoundError, version

from expfam import domains
from expfam._conditional import GLM, Conditional, ConditionalModel, fisher_scoring
from expfam._families._circular import VonMises
from expfam._families._counts import (
    Bernoulli,
    Binomial,
    Categorical,
    Geometric,
    Multinomial,
    NegativeBinomial,
    Poisson,
)
from expfam._families._gamma import (
    ChiSquared,
    Exponential,
    Gamma,
    InverseGamma,
    Laplace,
    Pareto,
    Weibull,
)
from expfam._families._gaussian import (
    InverseGaussian,
    LogNormal,
    MultivariateNormal,
    Normal,
)
from expfam._families._matrix import Wishart
from expfam._families._simplex import Beta, Dirichlet
from expfam._family import ExponentialFamily
from expfam._fit import FitHistory, FitResult, FitState, fit, load_state, save_state
from expfam._functional import family
from expfam._natural_gradient import natural_gradient

try:
    __version__ = version("expfam")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "GLM",
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "ChiSquared",
    "Conditional",
    "ConditionalModel",
    "Dirichlet",
    "Exponential",
    "ExponentialFamily",
    "FitHistory",
    "FitResult",
    "FitState",
    "Gamma",
    "Geometric",
    "InverseGamma",
    "InverseGaussian",
    "Laplace",
    "LogNormal",
    "Multinomial",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "Pareto",
    "Poisson",
    "VonMises",
    "Weibull",
    "Wishart",
    "__version__",
    "domains",
    "family",
    "fisher_scoring",
    "fit",
    "load_state",
    "natural_gradient",
    "save_state",
]
