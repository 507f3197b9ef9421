"""Arrival time generators: exact non-homogeneous Poisson streams and bursts.

Times are floats in hours since midnight of the scenario start date.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

import numpy as np

__all__ = ["burst_times", "nhpp_times"]

_PROFILE_LENGTHS = {"hour_profile": 24, "weekday_profile": 7, "month_profile": 12}
_PROFILE_MEANING = {
    "hour_profile": "one value per clock hour 0..23",
    "weekday_profile": "one value per weekday Mon..Sun",
    "month_profile": "one value per month Jan..Dec",
}


def _profile(values: Sequence[float] | np.ndarray | None, name: str) -> np.ndarray:
    """Validated profile scaled to mean 1 (all ones if None)."""
    n = _PROFILE_LENGTHS[name]
    if values is None:
        return np.ones(n)
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"{name} needs {n} values ({_PROFILE_MEANING[name]}), got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains a non-finite value: {arr.tolist()}")
    if np.any(arr < 0):
        bad = [i for i, v in enumerate(arr) if v < 0]
        raise ValueError(f"{name} has negative values at positions {bad}; weights must be >= 0")
    mean = arr.mean()
    if mean == 0:
        raise ValueError(f"{name} is all zeros, so nothing would ever arrive")
    return arr / mean


def _hourly_intensity(
    mean_rate: float,
    start: date,
    n_hours: int,
    hour: np.ndarray,
    weekday: np.ndarray,
    month: np.ndarray,
) -> np.ndarray:
    """Arrival rate (per hour) of each clock hour 0..n_hours-1 after start."""
    n_days = -(-n_hours // 24)
    days = np.datetime64(start, "D") + np.arange(n_days)
    month_index = days.astype("datetime64[M]").astype(np.int64) % 12  # 0 = January
    weekday_index = (start.weekday() + np.arange(n_days)) % 7
    day_factor = mean_rate * weekday[weekday_index] * month[month_index]
    return np.outer(day_factor, hour).ravel()[:n_hours]


def nhpp_times(
    rng: np.random.Generator,
    mean_rate_per_h: float,
    start: date,
    horizon_h: float,
    hour_profile: Sequence[float] | np.ndarray | None = None,
    weekday_profile: Sequence[float] | np.ndarray | None = None,
    month_profile: Sequence[float] | np.ndarray | None = None,
    limit: int | None = None,
) -> np.ndarray:
    """Exact non-homogeneous Poisson arrival times (hours, sorted, in [0, horizon_h)).

    Intensity is constant within each clock hour:
    mean_rate_per_h * hour[h] * weekday[d] * month[m], each profile scaled to mean 1.
    With ``limit``, only the first ``limit`` arrivals: the same ones, drawn with less work.
    """
    if not (math.isfinite(mean_rate_per_h) and mean_rate_per_h >= 0):
        raise ValueError(f"mean_rate_per_h must be a finite rate >= 0, got {mean_rate_per_h!r}")
    if not (math.isfinite(horizon_h) and horizon_h >= 0):
        raise ValueError(f"horizon_h must be a finite number of hours >= 0, got {horizon_h!r}")
    if isinstance(start, datetime):
        start = start.date()
    hour = _profile(hour_profile, "hour_profile")
    weekday = _profile(weekday_profile, "weekday_profile")
    month = _profile(month_profile, "month_profile")
    if mean_rate_per_h == 0 or horizon_h == 0:
        return np.empty(0)

    n_hours = math.ceil(horizon_h)
    lam = _hourly_intensity(mean_rate_per_h, start, n_hours, hour, weekday, month)
    widths = np.ones(n_hours)
    widths[-1] = horizon_h - (n_hours - 1)  # the last hour may be partial
    cum = np.concatenate(([0.0], np.cumsum(lam * widths)))
    total = cum[-1]
    if total == 0:
        return np.empty(0)

    # Unit-rate Poisson points on [0, total), drawn in batches sized to finish in ~1 pass.
    batch = int(total + 6.0 * math.sqrt(total) + 16)
    chunks = []
    last = 0.0
    drawn = 0
    while last < total and (limit is None or drawn < limit):
        # A shorter draw gives the first values of a longer one (numpy fills arrays in order),
        # so stopping at ``limit`` keeps the same arrivals.
        size = batch if limit is None else min(batch, limit - drawn)
        pts = last + np.cumsum(rng.exponential(1.0, size))
        chunks.append(pts)
        last = pts[-1]
        drawn += size
    u = np.concatenate(chunks) if chunks else np.empty(0)
    u = u[u < total]

    # Invert the cumulative intensity. side="right" picks, among hours sharing a cum value
    # (zero-rate hours), the last one -- the hour that actually carries the mass.
    idx = np.searchsorted(cum, u, side="right") - 1
    t = idx + (u - cum[idx]) / lam[idx]
    # Rounding must not push a point into the next hour (which may have zero rate).
    t = np.minimum(t, np.nextafter(idx + 1.0, 0.0))
    return t[t < horizon_h]


def burst_times(
    rng: np.random.Generator, at_h: float, count: int, over_h: float = 0.0
) -> np.ndarray:
    """`count` arrival times (hours, sorted): all at at_h, or uniform on [at_h, at_h + over_h)."""
    if isinstance(count, bool) or int(count) != count or count < 0:
        raise ValueError(f"burst count must be a whole number >= 0, got {count!r}")
    if not (math.isfinite(at_h) and at_h >= 0):
        raise ValueError(f"burst time at_h must be a finite number of hours >= 0, got {at_h!r}")
    if not (math.isfinite(over_h) and over_h >= 0):
        raise ValueError(f"burst spread over_h must be finite and >= 0 hours, got {over_h!r}")
    n = int(count)
    if over_h == 0:
        return np.full(n, float(at_h))
    t = at_h + over_h * rng.random(n)
    t = np.minimum(t, np.nextafter(at_h + over_h, -math.inf))
    return np.sort(t)
