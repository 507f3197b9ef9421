"""Cheap statistics: counters, time-weighted levels, value sinks and optional visit records.

Everything here is updated on the engine's hot path, so it is plain attributes and list appends;
turning the buffers into numbers happens once, at the end of a replication.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

import numpy as np

# Log-spaced bins used once a sink folds its buffer: 1e-6 h .. 1e6 h, about 1.4% wide each, so
# quantiles read off the histogram are within ~0.7% of the exact ones.
_EDGES = np.logspace(-6, 6, 2001)
FOLD_AT = 200_000
_BINS_PER_DECADE = (len(_EDGES) - 1) / 12.0


def _bin_of(values: np.ndarray) -> np.ndarray:
    """``np.searchsorted(_EDGES, values)``, exactly, but 3x faster on unsorted values: the bin
    follows from the logarithm, and a comparison with the edges corrects rounding either way."""
    n = len(_EDGES)
    guess = np.ceil((np.log10(values) + 6.0) * _BINS_PER_DECADE)
    idx = np.clip(guess, 0, n).astype(np.int64)
    idx[(idx < n) & (_EDGES[np.minimum(idx, n - 1)] < values)] += 1
    idx[(idx > 0) & (_EDGES[np.maximum(idx - 1, 0)] >= values)] -= 1
    return idx


class ValueSink:
    """Collects non-negative values (waits, cycle times) for means and quantiles.

    Values are buffered exactly; past ``FOLD_AT`` they are folded into a fixed log-histogram so
    memory stays flat however long the horizon (unless ``keep_all``).
    """

    __slots__ = ("buf", "add", "hist", "zeros", "n_folded", "total", "keep_all")

    def __init__(self, keep_all: bool = False) -> None:
        self.buf: list[float] = []  # a list appends faster than array("d")
        self.add = self.buf.append
        self.hist: np.ndarray | None = None
        self.zeros = 0
        self.n_folded = 0
        self.total = 0.0
        self.keep_all = keep_all

    def reset(self) -> None:
        del self.buf[:]
        self.hist = None
        self.zeros = 0
        self.n_folded = 0
        self.total = 0.0

    def maybe_fold(self) -> None:
        if not self.keep_all and len(self.buf) >= FOLD_AT:
            self.fold()

    def fold(self) -> None:
        values = np.array(self.buf, dtype=float)
        del self.buf[:]
        if self.hist is None:
            self.hist = np.zeros(len(_EDGES) + 1, dtype=np.int64)
        self.total += float(values.sum())
        self.n_folded += len(values)
        tiny = values <= _EDGES[0]
        self.zeros += int(tiny.sum())
        self.hist += np.bincount(_bin_of(values[~tiny]), minlength=len(self.hist))

    @property
    def count(self) -> int:
        return self.n_folded + len(self.buf)

    def count_positive(self) -> int:
        """How many values were > 0 (values folded below 1e-6 h count as zero)."""
        exact = int(np.count_nonzero(np.asarray(self.buf, dtype=float) > 0.0))
        return self.n_folded - self.zeros + exact

    def sum(self) -> float:
        return self.total + float(np.asarray(self.buf, dtype=float).sum())

    def mean(self) -> float:
        n = self.count
        if n == 0:
            return float("nan")
        return self.sum() / n

    def count_above(self, x: float) -> float:
        """How many values were > ``x``: exact while unfolded; after a fold, the bin holding
        ``x`` is split log-linearly (as :meth:`quantile` reads it), so it may be fractional."""
        above = float(np.count_nonzero(np.asarray(self.buf, dtype=float) > x))
        hist = self.hist
        if hist is None:
            return above
        if x <= _EDGES[0]:
            return above + float(self.n_folded - self.zeros)
        b = int(np.searchsorted(_EDGES, x))  # bin b holds the values in (_EDGES[b-1], _EDGES[b]]
        above += float(hist[b + 1:].sum())
        if b < len(_EDGES):
            lo, hi = _EDGES[b - 1], _EDGES[b]
            above += float(hist[b]) * (math.log(hi / x) / math.log(hi / lo))
        return above

    def quantile(self, q: float) -> float:
        """The q-quantile (exact while unfolded, histogram-interpolated after)."""
        n = self.count
        if n == 0:
            return float("nan")
        if self.hist is None:
            return float(np.quantile(np.asarray(self.buf, dtype=float), q))
        self.fold()
        assert self.hist is not None
        rank = q * (n - 1)
        if rank < self.zeros:
            return 0.0
        cum = self.zeros + np.cumsum(self.hist)
        b = int(np.searchsorted(cum, rank, side="right"))
        lo = _EDGES[b - 1] if b >= 1 else 0.0
        hi = _EDGES[min(b, len(_EDGES) - 1)]
        before = cum[b - 1] if b >= 1 else self.zeros
        inside = max(int(self.hist[b]), 1)
        frac = (rank - before) / inside
        return float(lo * (hi / lo) ** frac) if lo > 0 else float(hi * frac)

    def values(self) -> np.ndarray:
        """All values, when they have been kept exactly."""
        if self.hist is not None:
            raise ValueError("values were folded into a histogram; run with records on")
        return np.array(self.buf, dtype=float)


class Level:
    """A time-weighted level (queue length, work in progress, busy staff).

    Instead of integrating on every change it keeps the sums of entry and exit instants:
    over a window [t0, T] the area under the level is
    sum(exits) - sum(entries) + n(T) * T - n(t0) * t0, which costs two additions per change.
    The engine updates ``n``, ``sum_in`` and ``sum_out`` inline on its hot path.
    """

    __slots__ = ("n", "sum_in", "sum_out", "t0", "n0")

    def __init__(self) -> None:
        self.n = 0
        self.sum_in = 0.0
        self.sum_out = 0.0
        self.t0 = 0.0
        self.n0 = 0

    def reset(self, now: float) -> None:
        self.sum_in = 0.0
        self.sum_out = 0.0
        self.t0 = now
        self.n0 = self.n

    def area(self, now: float) -> float:
        return self.sum_out - self.sum_in + self.n * now - self.n0 * self.t0

    def mean(self, now: float) -> float:
        span = now - self.t0
        return self.area(now) / span if span > 0 else float("nan")


@dataclass
class VisitRecords:
    """Per-visit records in columnar buffers (one entry per visit to a stage)."""

    lead: array = field(default_factory=lambda: array("q"))
    stage: array = field(default_factory=lambda: array("i"))
    arrival: array = field(default_factory=lambda: array("d"))
    start: array = field(default_factory=lambda: array("d"))
    end: array = field(default_factory=lambda: array("d"))
    outcome: array = field(default_factory=lambda: array("i"))
    value: array = field(default_factory=lambda: array("d"))
    resource: array = field(default_factory=lambda: array("i"))  # server id, -1 if none
    # Stage entries, recorded on arrival so that leads still inside at the horizon show too.
    entry_lead: array = field(default_factory=lambda: array("q"))
    entry_stage: array = field(default_factory=lambda: array("i"))
    entry_time: array = field(default_factory=lambda: array("d"))
    # Order in which entries and departures were recorded, to break ties between events at
    # the same instant (a lead leaving one stage and entering the next, say).
    entry_seq: array = field(default_factory=lambda: array("q"))
    seq: array = field(default_factory=lambda: array("q"))
    counter: int = 0

    def enter(self, lead: int, stage: int, now: float) -> None:
        self.entry_lead.append(lead)
        self.entry_stage.append(stage)
        self.entry_time.append(now)
        self.counter += 1
        self.entry_seq.append(self.counter)

    def entries(self) -> dict[str, np.ndarray]:
        return _columns(self, ("entry_lead", "entry_stage", "entry_time", "entry_seq"))

    def add(self, lead: int, stage: int, arrival: float, start: float, end: float,
            outcome: int, value: float, resource: int = -1) -> None:
        self.lead.append(lead)
        self.stage.append(stage)
        self.arrival.append(arrival)
        self.start.append(start)
        self.end.append(end)
        self.outcome.append(outcome)
        self.value.append(value)
        self.resource.append(resource)
        self.counter += 1
        self.seq.append(self.counter)

    def columns(self) -> dict[str, np.ndarray]:
        return _columns(self, ("lead", "stage", "arrival", "start", "end", "outcome", "value",
                               "resource", "seq"))


@dataclass
class LeadRecords:
    """One row per lead created: its attributes (kept only when records are on)."""

    lead: array = field(default_factory=lambda: array("q"))
    source: array = field(default_factory=lambda: array("i"))
    segment: array = field(default_factory=lambda: array("i"))
    value: array = field(default_factory=lambda: array("d"))
    score: array = field(default_factory=lambda: array("d"))
    created: array = field(default_factory=lambda: array("d"))

    def add(self, lead: int, source: int, segment: int, value: float, score: float,
            created: float) -> None:
        self.lead.append(lead)
        self.source.append(source)
        self.segment.append(segment)
        self.value.append(value)
        self.score.append(score)
        self.created.append(created)

    def columns(self) -> dict[str, np.ndarray]:
        return _columns(self, ("lead", "source", "segment", "value", "score", "created"))


def _columns(obj: object, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    out = {}
    for name in names:
        buf = getattr(obj, name)
        out[name] = np.frombuffer(buf, dtype=buf.typecode).copy() if len(buf) else \
            np.array([], dtype=buf.typecode)
    return out
