"""Value sinks: exact while small, a log-histogram past FOLD_AT values, with the same answers."""

import numpy as np
import pytest

from revsim.engine import monitor
from revsim.engine.monitor import ValueSink


def test_histogram_bins_match_a_binary_search_exactly() -> None:
    edges = monitor._EDGES
    rng = np.random.default_rng(3)
    values = np.concatenate([
        10.0 ** rng.uniform(-5.9, 5.9, 50_000),  # across the whole range
        edges[1:],  # exactly on an edge
        np.nextafter(edges[1:], 0.0),  # just below one
        np.nextafter(edges[1:], np.inf),  # just above one
        [2e6, 1e300],  # past the last edge
    ])
    np.testing.assert_array_equal(monitor._bin_of(values), np.searchsorted(edges, values))


@pytest.mark.parametrize("keep_all", [False, True])
def test_a_folded_sink_keeps_count_mean_and_quantiles(monkeypatch, keep_all: bool) -> None:
    monkeypatch.setattr(monitor, "FOLD_AT", 1_000)
    rng = np.random.default_rng(5)
    values = np.concatenate([np.zeros(3_000), rng.lognormal(0.0, 1.5, 7_000)])
    rng.shuffle(values)
    sink = ValueSink(keep_all)
    for v in values:
        sink.add(float(v))
        sink.maybe_fold()
    assert (sink.hist is None) == keep_all
    assert sink.count == len(values)
    assert sink.count_positive() == 7_000
    assert sink.mean() == pytest.approx(values.mean(), rel=1e-12)
    for q in (0.1, 0.5, 0.9, 0.99):
        exact = np.quantile(values, q)
        # bins are 1.4% wide and quantiles interpolate inside them
        assert sink.quantile(q) == pytest.approx(exact, rel=0.015, abs=1e-9), q


@pytest.mark.parametrize("keep_all", [False, True])
def test_count_above_is_exact_unfolded_and_off_by_one_bin_at_most_folded(
        monkeypatch, keep_all: bool) -> None:
    monkeypatch.setattr(monitor, "FOLD_AT", 1_000)
    rng = np.random.default_rng(8)
    values = np.concatenate([np.zeros(2_000), rng.exponential(2.0, 8_000)])
    rng.shuffle(values)
    sink = ValueSink(keep_all)
    for v in values:
        sink.add(float(v))
        sink.maybe_fold()
    edges = monitor._EDGES
    for x in (0.0, 1e-7, 0.25, 1.0, 3.7, 20.0, 2e6):
        exact = int(np.count_nonzero(values > x))
        if keep_all:
            assert sink.count_above(x) == exact
            continue
        # only the bin that holds x is split, so the error is below that bin's count
        b = int(np.searchsorted(edges, x))
        lo = edges[b - 1] if b >= 1 else 0.0
        in_bin = int(np.count_nonzero((values > lo) & (values <= edges[min(b, len(edges) - 1)])))
        assert abs(sink.count_above(x) - exact) <= max(in_bin, 0) + 1e-9, x
