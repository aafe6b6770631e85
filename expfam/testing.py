"""The conformance kit: prove a family's u, A, h, sampler and overrides agree.

Run ``check_family(family, eta, key=jax.random.key(0))`` on a new family at a few
natural parameters; it raises ``AssertionError`` naming each failed check.
"""

from expfam._conformance import check_family

__all__ = ["check_family"]
