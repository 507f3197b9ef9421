"""The key correctness test of a forecast from a state: cut a simulation at a date, build the
state from its own records, forecast the next quarter, and compare with what the simulation
actually did after the cut.

The model's distributions are ones whose remaining time given an age is exact (lognormal and
exponential work, delays and patience; route-dependent delays, so the route given the age
matters; payment classes with a proportional-hazards dunning effect), on a 24/7 pool, so a
correct warm start reproduces the future in distribution: for every replication r, the
forecast from r's state and r's own future are two draws with the same conditional mean, and
the paired differences average to zero (the law of total expectation). A placement that
forgets the age, the route given the age, the reminders already sent or the payment class
given the days outstanding shows up as a bias here.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pytest
from conftest import START
from scipy import stats
from state_helpers import after_cut, snapshot_at

import revsim

CUT = 12 * 168.0  # Monday 2027-03-29
QUARTER = 13 * 168.0
N = 48
ROUND_TRIP = {
    "scenario": {"name": "round trip", "start": START, "horizon": "25 w"},
    "sources": {"web": {"rate": "40/w", "to": "qualify",
                        "value": {"dist": "lognormal", "median": 20000, "p90": 60000}}},
    "pools": {"sdr": {"headcount": 2}},
    "stages": {
        "qualify": {"pool": "sdr", "work": {"dist": "lognormal", "median": "3 h", "p90": "9 h"},
                    "patience": {"after": {"dist": "lognormal", "median": "1 d", "p90": "4 d"},
                                 "on_expiry": "renege"},
                    "routes": {"demo": 0.5, "lost": 0.5}},
        "demo": {"delay": {"dist": "exponential", "mean": "10 d"},
                 "delay_by_route": {"won": {"dist": "lognormal", "median": "6 d", "p90": "20 d"}},
                 "routes": {"won": 0.4, "lost": 0.6}},
    },
    "deals": {"contract": {"type": "subscription", "term": "1 mo", "billing": "upfront",
                           "terms": "net 30", "renewal": 0.8}},
    "payment": {"on_time": 0.5, "late": 0.45, "never": 0.05,
                "lateness": {"dist": "lognormal", "median": "10 d", "p90": "40 d"},
                "write_off_after": "120 d"},
    "dunning": {"reminders": ["1 d", "10 d"], "factor": 2.0, "window": "7 d"},
}


@cache
def original() -> revsim.RunResult:
    return revsim.Scenario(ROUND_TRIP).run(replications=N, seed=11, records=True,
                                           horizon=CUT + QUARTER, jobs=2, progress=False)


@cache
def pairs() -> dict[str, np.ndarray]:
    """Per figure, (forecast, actual) over N original replications, one forecast each."""
    sc = revsim.Scenario(ROUND_TRIP)
    last_day = (dt.datetime.combine(START, dt.time())
                + dt.timedelta(hours=CUT + QUARTER - 24)).date()
    out: dict[str, list[tuple[float, float]]] = {}
    for r in range(N):
        state = snapshot_at(original(), r, CUT)
        actual = after_cut(original(), r, CUT, CUT + QUARTER)
        forecast = sc.forecast(state, last_day, "quarter", replications=1, seed=1000 + r,
                               jobs=1, progress=False)
        for figure, value in actual.items():
            out.setdefault(figure, []).append((float(forecast.values(figure).iloc[0]), value))
    return {k: np.array(v) for k, v in out.items()}


def test_the_states_hold_every_kind_of_work_in_flight() -> None:
    states = [snapshot_at(original(), r, CUT) for r in range(N)]
    where = {(it.stage, it.status) for s in states for it in s.items}
    assert {("qualify", "waiting"), ("qualify", "in_work"), ("demo", "")} <= where
    assert all(s.invoices and s.customers for s in states)
    assert any(inv.dunning_step == 2 for s in states for inv in s.invoices)


@pytest.mark.parametrize("figure", [
    "won_open_pipeline", "won_new_leads", "bookings_open_pipeline", "bookings_new_leads",
    "renewals", "renewal_bookings", "cash_from_open_ar", "cash_from_new_invoices",
    "ar_outstanding",
])
def test_forecast_from_the_cut_agrees_with_what_happened_after_it(figure: str) -> None:
    forecast, actual = pairs()[figure].T
    d = forecast - actual
    assert actual.mean() > 0, "the figure must be exercised"
    half = stats.t.ppf(0.9995, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))  # 99.9% CI
    assert abs(d.mean()) <= half, (
        f"{figure}: forecast mean {forecast.mean():.1f} vs actual {actual.mean():.1f}, "
        f"paired difference {d.mean():.1f} outside its 99.9% CI ±{half:.1f}")
