"""Natural-parameter domains: bijections from unconstrained space.

Each domain maps unconstrained coordinates z onto the natural domain
(``forward``), back (``inverse``), and tells membership (``contains``). Families
declare one as ``natural_domain``; fitting optimizes z, so it never leaves the
domain.
"""

from expfam._domains import (
    Domain,
    GreaterThan,
    Interval,
    LessThan,
    NegativeDefinite,
    PositiveDefinite,
    Product,
    Real,
    Simplex,
    Stack,
    greater_than,
    interval,
    less_than,
    negative,
    negative_definite,
    positive,
    positive_definite,
    product,
    real,
    simplex,
    stack,
)

__all__ = [
    "Domain",
    "GreaterThan",
    "Interval",
    "LessThan",
    "NegativeDefinite",
    "PositiveDefinite",
    "Product",
    "Real",
    "Simplex",
    "Stack",
    "greater_than",
    "interval",
    "less_than",
    "negative",
    "negative_definite",
    "positive",
    "positive_definite",
    "product",
    "real",
    "simplex",
    "stack",
]
