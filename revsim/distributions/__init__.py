"""Probability distributions for durations, counts and amounts, and their scenario specs.

Every distribution samples in batches from a caller-supplied ``numpy.random.Generator``,
exposes exact ``mean``/``var`` and vectorised ``ppf``/``cdf``/``sf``, and validates its
parameters on construction (``ParamError``, a ``ValueError``, listing every issue).

``remaining(age, u)`` draws what is left of X once ``age`` has passed (X - age given
X > age), exactly and far into the tail; :mod:`revsim.distributions.conditional` builds on it
for open items whose route depends on their delay.
"""

from .base import (
    SCALE_PARAMS,
    Distribution,
    DistributionBase,
    Formatter,
    Issue,
    ParamError,
    fmt_number,
)
from .composite import DiscreteChoice, Empirical, LabelChoice, Mixture, hyperexponential
from .families import Deterministic, Exponential, Gamma, Lognormal, Triangular, Uniform, Weibull
from .schema import SPEC_JSON_SCHEMA
from .scipy_dist import ScipyDist
from .spec import DIST_NAMES, FAMILY_PARAMS, Kind, SpecError, formatter_for, from_spec, to_spec

__all__ = [
    "DIST_NAMES",
    "FAMILY_PARAMS",
    "SCALE_PARAMS",
    "SPEC_JSON_SCHEMA",
    "Deterministic",
    "DiscreteChoice",
    "Distribution",
    "DistributionBase",
    "Empirical",
    "Exponential",
    "Formatter",
    "Gamma",
    "Issue",
    "Kind",
    "LabelChoice",
    "Lognormal",
    "Mixture",
    "ParamError",
    "ScipyDist",
    "SpecError",
    "Triangular",
    "Uniform",
    "Weibull",
    "fmt_number",
    "formatter_for",
    "from_spec",
    "hyperexponential",
    "to_spec",
]
