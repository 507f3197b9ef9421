"""Logs without losses: the fit warns on wins only and on no open case, and ``--stale-after``
closes long-untouched open journeys as lost (or disqualified), saying so in the report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

import revsim
from revsim.cli import main

T0 = dt.datetime(2027, 1, 4, 9)
AS_OF = "2027-06-30T09:00:00Z"  # 177 days after T0
WON, STALE_OPPS, STALE_LEADS = 6, 3, 1


def _ts(days: int) -> str:
    return (T0 + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _log(tmp_path: Path, *, losses: bool = False) -> Path:
    """WON deals won; STALE_OPPS opportunities and STALE_LEADS leads last touched months
    before AS_OF; one opportunity touched a week before it. ``losses`` adds a lost deal."""
    rows = ["case_id,activity,timestamp,amount"]
    for i in range(WON):
        rows += [f"won{i},mql,{_ts(i * 15)},", f"won{i},opportunity_created,{_ts(i * 15 + 4)},",
                 f"won{i},closed_won,{_ts(i * 15 + 20 + i)},1000"]
    for i in range(STALE_OPPS):
        rows += [f"stale{i},mql,{_ts(i * 10)},", f"stale{i},opportunity_created,{_ts(i * 10 + 3)},"]
    rows += [f"lead{i},mql,{_ts(5 + i)}," for i in range(STALE_LEADS)]
    rows += [f"fresh,mql,{_ts(160)},", f"fresh,opportunity_created,{_ts(170)},"]
    if losses:
        rows += [f"lost,mql,{_ts(30)},", f"lost,opportunity_created,{_ts(33)},",
                 f"lost,closed_lost,{_ts(60)},"]
    path = tmp_path / ("mixed.csv" if losses else "wins.csv")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _share(fitted, stage: str, to: str) -> float:
    t = fitted.transitions
    row = t[(t["stage"] == stage) & (t["to"] == to)]
    return float(row["p"].iloc[0]) if len(row) else 0.0


def test_wins_only_log_warns(tmp_path: Path) -> None:
    fitted = revsim.fit(_log(tmp_path), as_of=AS_OF, progress=False)
    assert any("wins only" in w and "--stale-after" in w for w in fitted.warnings)
    assert _share(fitted, "opportunity", "won") == 1.0
    assert "wins only" in fitted.to_toml()  # the warning travels into the scenario's header


def test_stale_after_turns_old_open_journeys_into_losses(tmp_path: Path) -> None:
    fitted = revsim.fit(_log(tmp_path), as_of=AS_OF, progress=False, stale_after="90 d")
    assert not any("wins only" in w for w in fitted.warnings)
    # the fresh opportunity (a week old) stays open: only the stale ones join the denominator
    assert _share(fitted, "opportunity", "won") == pytest.approx(WON / (WON + STALE_OPPS))
    assert _share(fitted, "opportunity", "lost") == pytest.approx(
        STALE_OPPS / (WON + STALE_OPPS))
    leads = WON + STALE_OPPS + STALE_LEADS + 1
    assert _share(fitted, "mql", "disqualified") == pytest.approx(STALE_LEADS / leads)
    note = next(n for n in fitted.notes if "--stale-after" in n)
    assert note.startswith(f"{STALE_OPPS + STALE_LEADS} open journeys untouched for more "
                           "than 90 d treated as lost")
    assert f"{STALE_OPPS} closed_lost, {STALE_LEADS} disqualified" in note


def test_stale_after_longer_than_the_quiet_closes_nothing(tmp_path: Path) -> None:
    # the oldest stale case was last touched 172 days before as-of: 200 d leaves it open
    fitted = revsim.fit(_log(tmp_path), as_of=AS_OF, progress=False, stale_after="200 d")
    assert any("wins only" in w for w in fitted.warnings)
    assert any(n.startswith("0 open journeys untouched") for n in fitted.notes)


def test_log_with_losses_and_open_cases_has_no_warning(tmp_path: Path) -> None:
    fitted = revsim.fit(_log(tmp_path, losses=True), as_of=AS_OF, progress=False)
    assert not any("wins only" in w or "no journey is open" in w for w in fitted.warnings)
    assert not any("--stale-after" in n for n in fitted.notes)


def test_finished_cohort_warns_of_no_open_journey(tmp_path: Path) -> None:
    rows = ["case_id,activity,timestamp"]
    for i in range(4):
        rows += [f"c{i},opportunity_created,{_ts(i * 7)}",
                 f"c{i},{'closed_won' if i % 2 else 'closed_lost'},{_ts(i * 7 + 10)}"]
    path = tmp_path / "finished.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    fitted = revsim.fit(path, progress=False)
    assert any("no journey is open at the as-of time" in w for w in fitted.warnings)
    assert not any("wins only" in w for w in fitted.warnings)


def test_cli_warns_and_reports_stale_count(tmp_path: Path) -> None:
    log = _log(tmp_path)
    runner = CliRunner()
    plain = runner.invoke(main, ["fit", str(log), "--as-of", AS_OF,
                                 "-o", str(tmp_path / "a.toml")])
    assert plain.exit_code == 0, plain.output
    assert "warning:" in plain.stderr and "wins only" in plain.stderr
    stale = runner.invoke(main, ["fit", str(log), "--as-of", AS_OF, "--stale-after", "90 d",
                                 "-o", str(tmp_path / "b.toml"),
                                 "--report", str(tmp_path / "report")])
    assert stale.exit_code == 0, stale.output
    assert "wins only" not in stale.stderr
    counted = f"{STALE_OPPS + STALE_LEADS} open journeys untouched for more than 90 d"
    assert f"note: {counted}" in stale.stderr
    assert counted in (tmp_path / "b.toml").read_text(encoding="utf-8")
    assert counted in (tmp_path / "report" / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("value", ["ninety days", "0 d", "-5 d"])
def test_cli_bad_stale_after_exits_2(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(main, ["fit", str(_log(tmp_path)), "--stale-after", value,
                                       "-o", str(tmp_path / "x.toml")])
    assert result.exit_code == 2, result.output
    assert "--stale-after" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.toml").exists()


def test_api_bad_stale_after_names_it(tmp_path: Path) -> None:
    with pytest.raises(revsim.RevsimError, match="stale_after"):
        revsim.fit(_log(tmp_path), progress=False, stale_after="soon")
