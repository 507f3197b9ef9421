"""From a real-looking log to journeys: repeated work items of a stage are one visit, stage
events after a journey ended open none, and a few events dated decades away from the rest of the
log are left out instead of stretching its period. Each is counted where a fit reports what it
left out (terminal, scenario file, summary)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from revsim.calibrate import read_event_log
from revsim.calibrate.fit_log import fit
from revsim.calibrate.fitted import excluded_text
from revsim.calibrate.log import FAR_OUT
from revsim.calibrate.text_input import InputWarning
from revsim.cli import main

MERGED = "repeated events of the same stage, merged into their visit"
AFTER = "stage events after the journey was won, lost or disqualified (no visit opened)"
DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-01-01T09:00:00Z")


def write_log(path: Path, rows: list[tuple[str, str, pd.Timestamp]]) -> Path:
    """A canonical CSV log from (case, activity, time) rows."""
    lines = ["case_id,activity,timestamp"]
    lines += [f"{case},{activity},{when:%Y-%m-%dT%H:%M:%SZ}" for case, activity, when in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def transitions(fitted: object) -> dict[tuple[str, str], int]:
    t = fitted.transitions  # type: ignore[attr-defined]
    return {(s, to): int(n) for s, to, n in zip(t["stage"], t["to"], t["count"], strict=True)}


def hours_in(fitted: object, journey: str, stage: str) -> list[float]:
    v = fitted.journeys.visits  # type: ignore[attr-defined]
    return v.loc[(v["journey"] == journey) & (v["stage"] == stage), "hours"].tolist()


# -- repeated work items of one stage ------------------------------------------------------------

def worked_in_items(n: int, items: int) -> list[tuple[str, str, pd.Timestamp]]:
    """n deals, each with ``items`` work items of demo a day apart, proposal a week after the
    first, then won."""
    rows = []
    for i in range(n):
        start = T0 + i * DAY
        rows.append((f"O{i}", "opportunity_created", start))
        rows += [(f"O{i}", "stage:demo", start + (1 + k) * DAY) for k in range(items)]
        rows += [(f"O{i}", "stage:proposal", start + 8 * DAY),
                 (f"O{i}", "closed_won", start + 12 * DAY)]
    return rows


def test_repeated_events_of_a_stage_are_one_visit(tmp_path: Path) -> None:
    n, items = 5, 3
    fitted = fit(write_log(tmp_path / "items.csv", worked_in_items(n, items)), progress=False)
    assert transitions(fitted) == {("opportunity", "demo"): n, ("demo", "proposal"): n,
                                   ("proposal", "won"): n}
    # the visit runs from the first item to the next stage, not from the last item
    assert hours_in(fitted, "O0", "demo") == [7 * 24.0]
    assert fitted.excluded[MERGED] == n * (items - 1)


def test_one_item_per_stage_merges_nothing(tmp_path: Path) -> None:
    fitted = fit(write_log(tmp_path / "single.csv", worked_in_items(5, 1)), progress=False)
    assert MERGED not in fitted.excluded
    assert hours_in(fitted, "O0", "demo") == [7 * 24.0]


def test_recycled_and_back_to_the_same_stage_is_a_second_visit(tmp_path: Path) -> None:
    rows = []
    for i in range(4):
        start = T0 + i * DAY
        rows += [(f"L{i}", "lead_created", start), (f"L{i}", "mql", start + DAY),
                 (f"L{i}", "mql", start + 2 * DAY),  # a second work item: the same visit
                 (f"L{i}", "recycled", start + 3 * DAY), (f"L{i}", "mql", start + 20 * DAY),
                 (f"L{i}", "disqualified", start + 25 * DAY)]
    fitted = fit(write_log(tmp_path / "recycled.csv", rows), progress=False)
    assert hours_in(fitted, "L0", "mql") == [2 * 24.0, 5 * 24.0]
    assert transitions(fitted) == {("mql", "nurture"): 4, ("mql", "disqualified"): 4}
    back = fitted.journeys.nurture
    assert back["back_to"].eq("mql").all() and len(back) == 4
    assert fitted.excluded[MERGED] == 4


# -- stage events after the journey's outcome ----------------------------------------------------

def test_stage_events_after_a_loss_open_no_visit(tmp_path: Path) -> None:
    rows = []
    for i in range(4):
        start = T0 + i * DAY
        rows += [(f"O{i}", "opportunity_created", start), (f"O{i}", "stage:demo", start + DAY),
                 (f"O{i}", "closed_lost", start + 6 * DAY),
                 # a late edit of the closed deal, as CRMs record them
                 (f"O{i}", "stage:proposal", start + 9 * DAY)]
    fitted = fit(write_log(tmp_path / "lost.csv", rows), progress=False)
    assert transitions(fitted) == {("opportunity", "demo"): 4, ("demo", "lost"): 4}
    assert "proposal" not in set(fitted.journeys.visits["stage"])
    assert not fitted.journeys.visits["censored"].any()  # nothing left open after the loss
    assert fitted.excluded[AFTER] == 4
    assert f"  {excluded_text(fitted.excluded)}\n" in CliRunner().invoke(
        main, ["fit", str(tmp_path / "lost.csv"), "-o", str(tmp_path / "f.toml")]).stderr


def test_a_won_deal_hands_over_to_onboarding_and_its_delivery_stages(tmp_path: Path) -> None:
    rows = []
    for i in range(4):
        start = T0 + i * DAY
        won = start + 5 * DAY
        rows += [(f"O{i}", "opportunity_created", start), (f"O{i}", "stage:demo", start + DAY),
                 (f"O{i}", "closed_won", won),
                 (f"O{i}", "onboarding_started", won),  # the same instant: the hand-over
                 (f"O{i}", "stage:training", won + 10 * DAY),
                 (f"O{i}", "go_live", won + 15 * DAY),
                 (f"O{i}", "stage:demo", won + 30 * DAY)]  # after go-live: noise
    fitted = fit(write_log(tmp_path / "won.csv", rows), progress=False)
    assert transitions(fitted) == {("opportunity", "demo"): 4, ("demo", "won"): 4,
                                   ("onboarding", "training"): 4, ("training", "live"): 4}
    assert hours_in(fitted, "O0", "training") == [5 * 24.0]
    assert fitted.excluded[AFTER] == 4


def test_a_stage_after_a_win_without_onboarding_is_dropped(tmp_path: Path) -> None:
    rows = []
    for i in range(3):
        start = T0 + i * DAY
        rows += [(f"O{i}", "opportunity_created", start), (f"O{i}", "stage:demo", start + DAY),
                 (f"O{i}", "closed_won", start + 4 * DAY),
                 (f"O{i}", "stage:demo", start + 7 * DAY)]
    fitted = fit(write_log(tmp_path / "won.csv", rows), progress=False)
    assert hours_in(fitted, "O0", "demo") == [3 * 24.0]
    assert fitted.excluded[AFTER] == 3
    assert MERGED not in fitted.excluded  # dropped, not merged into the first demo


# -- events dated far outside the rest of the log ------------------------------------------------

def small_log(n: int = 6) -> list[tuple[str, str, pd.Timestamp]]:
    rows = []
    for i in range(n):
        start = T0 + 3 * i * DAY
        rows += [(f"O{i}", "opportunity_created", start), (f"O{i}", "stage:demo", start + DAY),
                 (f"O{i}", "closed_won" if i % 2 else "closed_lost", start + 20 * DAY)]
    return rows


@pytest.mark.parametrize("bad", ["1970-01-01T00:00:00Z", "2099-12-31T00:00:00Z"])
def test_an_event_dated_decades_away_is_left_out_and_reported(tmp_path: Path, bad: str) -> None:
    rows = small_log()
    clean = fit(write_log(tmp_path / "clean.csv", rows), progress=False)
    rows.insert(4, ("O1", "stage:demo", pd.Timestamp(bad)))
    path = write_log(tmp_path / "odd.csv", rows)
    fitted = fit(path, progress=False)
    assert fitted.log.skipped == {FAR_OUT: 1}
    # the period, as-of (defaulted to the last event) and horizon are the clean log's
    assert (fitted.log.start, fitted.log.as_of) == (clean.log.start, clean.log.as_of)
    assert fitted.raw["scenario"]["horizon"] == clean.raw["scenario"]["horizon"]
    (warning,) = [w for w in fitted.warnings if "far outside" in w]
    assert f"1 event left out, dated {bad[:10]}" in warning
    assert f"# WARNING: {warning}" in fitted.to_toml()
    result = CliRunner().invoke(main, ["fit", str(path), "-o", str(tmp_path / "f.toml"),
                                       "--report", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert f"skipped rows: 1 {FAR_OUT}" in result.stderr
    assert f"warning: {warning}" in result.stderr
    summary = (tmp_path / "report" / "summary.md").read_text(encoding="utf-8")
    assert f"1 ({FAR_OUT})" in summary and bad[:10] in summary


def test_a_given_as_of_is_kept_when_a_far_event_is_left_out(tmp_path: Path) -> None:
    rows = [*small_log(), ("O0", "stage:demo", pd.Timestamp("1970-01-01T00:00:00Z"))]
    with pytest.warns(InputWarning, match="1 event left out, dated 1970-01-01"):
        log = read_event_log(write_log(tmp_path / "log.csv", rows), as_of="2024-03-01")
    assert log.skipped == {FAR_OUT: 1}
    assert log.as_of == pd.Timestamp("2024-03-01", tz="UTC")
    assert log.start == T0


def frame(times: np.ndarray) -> pd.DataFrame:
    stamps = pd.to_datetime(times, unit="D", origin=pd.Timestamp("1975-01-01"))
    return pd.DataFrame({"case_id": [f"O{i}" for i in range(len(stamps))],
                         "activity": "opportunity_created",
                         "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ")})


@pytest.mark.parametrize("case", ["uniform over a century", "thousand-fold growth",
                                  "a slow case months after the rest",
                                  "a handful of events, one two years later"])
def test_a_genuinely_spread_out_log_keeps_every_event(case: str) -> None:
    if case == "uniform over a century":
        days = np.linspace(0, 120 * 365, 400)
    elif case == "thousand-fold growth":
        # arrivals at a rate growing 1000-fold over 5 years, placed at their quantiles
        growth, span = 1000.0, 5 * 365
        days = span * np.log1p(np.linspace(0, 1, 2000) * (growth - 1)) / np.log(growth)
    elif case == "a slow case months after the rest":
        days = np.concatenate([np.linspace(0, 14, 11), [300.0]])
    else:
        days = np.array([0.0, 1.0, 2.0, 3.0, 800.0])
    log = read_event_log(frame(days))
    assert log.skipped == {}
    assert len(log.events) == len(days)
