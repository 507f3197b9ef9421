"""Bottleneck measures: the active-period method, waiting shares and queue trends.

Active-period method (Roser, Nakano & Tanaka 2001, 2002): a resource is *active* while it
works without interruption; the one with the longest current active period limits the system
at that moment (the momentary bottleneck), and the one that is the momentary bottleneck most of
the time is the bottleneck on average. For a pool of several people, "active" means saturated:
every present staff member busy, so that new work has to wait.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def momentary_bottleneck(periods: dict[str, np.ndarray], start: float, end: float,
                         bin_hours: float = 168.0) -> tuple[dict[str, float], pd.DataFrame]:
    """Share of [start, end] that each pool is the momentary bottleneck, and per time bin.

    ``periods`` maps a pool to its active periods as an (n, 2) array of (from, to) hours. At
    each instant the bottleneck is the active pool whose current period is longest; when no
    pool is active there is none. Returns the shares and a table (bin_start, pool, share).
    """
    names = list(periods)
    bounds: list[float] = [start, end]
    spells = []
    for i, name in enumerate(names):
        p = np.asarray(periods[name], dtype=float).reshape(-1, 2)
        p = p[(p[:, 1] > start) & (p[:, 0] < end)]
        for a, b in p:
            spells.append((max(a, start), min(b, end), b - a, i))
            bounds += [max(a, start), min(b, end)]
    edges = np.unique(np.asarray(bounds))
    if len(edges) < 2:
        return dict.fromkeys(names, 0.0), pd.DataFrame(columns=["bin_start", "pool", "share"])
    # longest active period covering each elementary segment
    best_len = np.zeros(len(edges) - 1)
    best_pool = np.full(len(edges) - 1, -1)
    for a, b, length, i in spells:
        lo = np.searchsorted(edges, a)
        hi = np.searchsorted(edges, b)
        seg = slice(lo, hi)
        better = length > best_len[seg]
        best_len[seg] = np.where(better, length, best_len[seg])
        best_pool[seg] = np.where(better, i, best_pool[seg])
    widths = np.diff(edges)
    total = end - start
    shares = {name: float(widths[best_pool == i].sum() / total) for i, name in enumerate(names)}
    # per bin: how much of each bin each pool is the bottleneck
    rows = []
    n_bins = max(1, int(np.ceil(total / bin_hours)))
    mids = edges[:-1]
    for k in range(n_bins):
        b0, b1 = start + k * bin_hours, min(start + (k + 1) * bin_hours, end)
        lo_clip = np.clip(edges[:-1], b0, b1)
        hi_clip = np.clip(edges[1:], b0, b1)
        inside = hi_clip - lo_clip
        for i, name in enumerate(names):
            share = float(inside[best_pool == i].sum() / (b1 - b0)) if b1 > b0 else 0.0
            rows.append((b0, name, share))
    del mids
    return shares, pd.DataFrame(rows, columns=["bin_start", "pool", "share"])


def mean_active_period(periods: np.ndarray, start: float, end: float) -> float:
    """Mean length (hours) of a pool's active periods that overlap [start, end]."""
    p = np.asarray(periods, dtype=float).reshape(-1, 2)
    p = p[(p[:, 1] > start) & (p[:, 0] < end)]
    return float((p[:, 1] - p[:, 0]).mean()) if len(p) else 0.0


def queue_slope(t_hours: np.ndarray, queue: np.ndarray) -> float:
    """Least-squares trend of a queue length, in items per week."""
    t = np.asarray(t_hours, dtype=float)
    q = np.asarray(queue, dtype=float)
    if len(t) < 3 or np.ptp(t) == 0:
        return float("nan")
    slope = np.polyfit(t, q, 1)[0]
    return float(slope * 168.0)
