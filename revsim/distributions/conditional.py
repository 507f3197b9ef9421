"""What is left of an item's time in a stage, given how long it has been there already.

A forecast starts from today's open items, each some hours into its work or its delay. The
time still to come is drawn from the distribution *given the time already spent*
(:meth:`Distribution.remaining <revsim.distributions.base.DistributionBase.remaining>`), and
where the delay depends on the route, so is the route.

Routes with outcome-specific delays (a stage's ``delay_by_route``): the engine draws the route
first, with the stage's prior probabilities p_k, then that route's delay D_k. An item still in
the delay after ``age`` hours has survived its route's delay so far, so its route is no longer
the prior one:

    P(route k | in the delay for age hours) = p_k S_k(age) / sum_j p_j S_j(age),

with S_k the survival function of route k's delay (computed from log-survivals, so that old
items far in every tail still get the right odds). :func:`conditional_routes` returns these as
``(targets, cumulative)``, the format of ``Routing``; :func:`route_and_remaining` draws one
item's route and remaining delay from two uniforms.

When the route does not depend on the elapsed time, the prior stands: in staffed work (the
route is drawn when the work ends, whatever it took), and in a delay that is the same for every
route. ``conditional_routes`` with no outcome-specific delays returns the prior unchanged.

Ages beyond the support: an item older than every route's longest possible delay should have
left already (it is overdue). Then the routes stay the prior ones, the remaining delay is 0 and
:class:`RouteDraw` says ``overdue=True``, so the caller can count such items instead of
silently moving them on.

Staffed work scaled by a stage's ``work_scale`` (the engine draws ``work`` times the scale, see
``Streams.draws``) is handled by :func:`scaled_remaining`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .base import Distribution, FloatArray, as_float_array, log_survival


def scaled_remaining(dist: Distribution, age: npt.ArrayLike, u: npt.ArrayLike,
                     scale: float = 1.0) -> FloatArray:
    """Remaining time of ``scale`` * X given ``scale`` * X > ``age``: the engine's scaled
    draws (``Streams.draws(name, dist, scale)``, e.g. work times ``work_scale``). Scale 0 means
    the work takes no time: nothing remains."""
    if not scale >= 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
    if scale == 0:
        return np.zeros(np.broadcast(as_float_array(age), as_float_array(u)).shape)
    return scale * dist.remaining(as_float_array(age) / scale, u)


class RouteDraw(NamedTuple):
    """One open item's route and what is left of its delay."""

    target: int  # a stage index or an outcome code, as in Routing.targets
    remaining: float  # hours of delay still to come (0 if overdue)
    overdue: bool  # older than every route's delay allows: routed by the prior, nothing left


def _delay_of(target: int, delays_by_target: Mapping[int, Distribution],
              default_delay: Distribution | None) -> Distribution:
    delay = delays_by_target.get(target, default_delay)
    if delay is None:
        raise ValueError(f"route target {target} has no delay of its own and the stage has no "
                         "default delay")
    return delay


def _log_route_weights(targets: Sequence[int], cumulative: Sequence[float],
                       delays_by_target: Mapping[int, Distribution],
                       default_delay: Distribution | None, age: float) -> FloatArray:
    """log(p_k S_k(age)) per target."""
    if len(targets) != len(cumulative) or not targets:
        raise ValueError("targets and cumulative must be non-empty and of the same length")
    p = np.diff(np.concatenate(([0.0], as_float_array(cumulative))))
    with np.errstate(divide="ignore"):
        log_p = np.log(np.maximum(p, 0.0))
    log_s = [float(log_survival(_delay_of(t, delays_by_target, default_delay), max(age, 0.0)))
             for t in targets]
    return log_p + np.array(log_s)


def conditional_routes(targets: Sequence[int], cumulative: Sequence[float],
                       delays_by_target: Mapping[int, Distribution],
                       default_delay: Distribution | None, age: float
                       ) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Route probabilities of an item ``age`` hours into a stage's delay, as
    ``(targets, cumulative)`` like ``Routing`` (targets in the given order, those now
    impossible left out, the last cumulative exactly 1).

    ``targets``/``cumulative`` are the stage's routing for the item's segment;
    ``delays_by_target`` is ``StageModel.delay_by_route`` and ``default_delay`` the stage's
    ``delay`` (used by the routes without their own). Without outcome-specific delays, or
    when every route's delay is over by ``age`` (overdue), the prior is returned as given.
    """
    if not delays_by_target:
        return tuple(targets), tuple(cumulative)
    log_w = _log_route_weights(targets, cumulative, delays_by_target, default_delay, age)
    return _normalised(targets, cumulative, log_w)


def _normalised(targets: Sequence[int], cumulative: Sequence[float], log_w: FloatArray
                ) -> tuple[tuple[int, ...], tuple[float, ...]]:
    top = float(log_w.max())
    if not math.isfinite(top):  # overdue on every route
        return tuple(targets), tuple(cumulative)
    w = np.exp(log_w - top)
    keep = [i for i in range(len(targets)) if w[i] > 0]
    cum = np.cumsum(w[keep]) / w[keep].sum()
    cum[-1] = 1.0
    return tuple(targets[i] for i in keep), tuple(float(c) for c in cum)


def route_and_remaining(targets: Sequence[int], cumulative: Sequence[float],
                        delays_by_target: Mapping[int, Distribution],
                        default_delay: Distribution | None, age: float,
                        u_route: float, u_delay: float) -> RouteDraw:
    """Draw an open item's route (from ``u_route``, as the engine does: the first target
    whose cumulative probability exceeds it) given ``age`` hours in the delay, then what is
    left of that route's delay given the same age (from ``u_delay``, by inverse CDF)."""
    if not delays_by_target:
        raise ValueError("the route does not depend on the delay here: route by the prior and "
                         "draw the remaining delay with delay.remaining(age, u)")
    log_w = _log_route_weights(targets, cumulative, delays_by_target, default_delay, age)
    overdue = not math.isfinite(float(log_w.max()))
    routes, cum = _normalised(targets, cumulative, log_w)
    target = routes[min(bisect_right(cum, u_route), len(routes) - 1)]
    if overdue:
        return RouteDraw(target, 0.0, True)
    delay = _delay_of(target, delays_by_target, default_delay)
    return RouteDraw(target, float(delay.remaining(max(age, 0.0), u_delay)), False)
