"""The one Kaplan-Meier / Aalen-Johansen implementation (revsim.calibrate.survival) against
lifelines, which serves as an independent oracle here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from lifelines import AalenJohansenFitter, KaplanMeierFitter

from revsim.calibrate.survival import (
    censoring_survival,
    cumulative_incidence,
    kaplan_meier,
    km_quantile,
    km_table,
)


def sample(seed: int, n: int, *, decimals: int | None = 1, zeros: int = 0
           ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.exponential(10.0, n)
    if decimals is not None:
        t = np.round(t, decimals)  # ties, as in logs rounded to days
    t[:zeros] = 0.0
    return t, rng.random(n) < 0.7


@pytest.mark.parametrize("seed", range(6))
def test_km_table_matches_lifelines(seed: int) -> None:
    t, obs = sample(seed, 80 + 40 * seed, zeros=3 * (seed % 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf = KaplanMeierFitter().fit(t, event_observed=obs)
    table = km_table(t, obs)
    assert table["time"].tolist() == kmf.survival_function_.index.tolist()
    # to the last bit: the fit's plots and notes did not move when lifelines was replaced
    np.testing.assert_array_equal(table["survival"], kmf.survival_function_.iloc[:, 0])
    ci = kmf.confidence_interval_
    np.testing.assert_array_equal(table["ci_lower"], ci.iloc[:, 0])
    np.testing.assert_array_equal(table["ci_upper"], ci.iloc[:, 1])
    times, surv, _ = kaplan_meier(t, obs)
    assert km_quantile(times, surv, 0.5) == pytest.approx(kmf.median_survival_time_)


def test_km_quantile_not_reached_is_inf() -> None:
    times, surv, before = kaplan_meier(np.array([1.0, 2.0, 3.0]), np.array([True, False, False]))
    assert times.tolist() == [1.0] and surv.tolist() == [pytest.approx(2 / 3)]
    assert before.tolist() == [1.0]
    assert km_quantile(times, surv, 0.5) == np.inf


def test_censoring_survival_is_the_km_of_censoring_times_events_first() -> None:
    """P(C >= x): lifelines' KM with the roles of event and censoring swapped, where an event
    tied with a censoring leaves the risk set first (untied data: the two conventions agree)."""
    t, obs = sample(11, 200, decimals=None)
    breaks, values = censoring_survival(t, obs)
    kmf = KaplanMeierFitter().fit(t, event_observed=~obs)
    expected = kmf.survival_function_at_times(breaks[1:]).to_numpy()
    np.testing.assert_allclose(values[1:], expected, rtol=1e-12)
    # a tie: the event at 2 is not at risk of being censored at 2
    breaks, values = censoring_survival(np.array([1.0, 2.0, 2.0, 3.0]),
                                        np.array([True, True, False, True]))
    assert breaks.tolist() == [0.0, 2.0] and values.tolist() == [1.0, 0.5]


def test_cumulative_incidence_matches_lifelines_aalen_johansen() -> None:
    rng = np.random.default_rng(5)
    n = 300
    t = rng.exponential(10.0, n)  # untied: lifelines jitters ties at random
    outcome = rng.integers(0, 3, n)  # 0 = censored, 1 and 2 competing outcomes
    times, index = np.unique(t, return_inverse=True)
    counts = np.zeros((3, len(times)))
    row = np.where(outcome == 0, 2, outcome - 1)
    np.add.at(counts, (row, index), 1.0)
    inc, unresolved = cumulative_incidence(counts)
    for k in (1, 2):
        ajf = AalenJohansenFitter(calculate_variance=False).fit(t, outcome, event_of_interest=k)
        cif = ajf.cumulative_density_.iloc[:, 0]
        np.testing.assert_allclose(np.cumsum(inc[k - 1]), cif.reindex(times).to_numpy(),
                                   rtol=1e-10, atol=1e-12)
    kmf = KaplanMeierFitter().fit(t, event_observed=outcome > 0)
    assert unresolved == pytest.approx(float(kmf.survival_function_.iloc[-1, 0]))
