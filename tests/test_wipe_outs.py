"""Results that are silently empty get a warning naming the cause and the setting: a stage that
loses most of its arrivals to patience, deals won with no value, nothing won. The README's
minimal scenario books deals, and warns as the README says."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

import revsim
from revsim.cli import main

ROOT = Path(__file__).resolve().parent.parent


def minimal_scenario() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```toml\n(\[scenario\]\nname = \"Inbound funnel\".*?)```", text, re.S)
    assert found, "the README's minimal scenario"
    return found.group(1)


def test_the_readme_minimal_scenario_books_and_warns_of_cold_leads() -> None:
    result = revsim.loads(minimal_scenario()).run(4, seed=1, jobs=1, progress=False)
    kpis = result.kpis.set_index(["metric", "scope"])
    assert kpis.loc[("bookings", "total"), "ci_low"] > 0
    share = kpis.loc[("abandoned_share", "stage"), "mean"]
    assert 0.7 < share < 0.9  # "about four in five"
    (warning,) = result.warnings
    assert warning.startswith(f"stage qualify: {share:.0%} of its arrivals gave up waiting or "
                              "went cold")
    assert warning.endswith("look at stages.qualify.patience or more staff in pool sdr "
                            "(pools.sdr.headcount)")


def test_won_without_a_value_and_nothing_won() -> None:
    no_value = minimal_scenario().replace(
        'value = { dist = "lognormal", median = 12000, p90 = 30000 }   # deal value\n', "")
    result = revsim.loads(no_value).run(2, seed=1, jobs=1, progress=False)
    assert result.warnings[-1].endswith("deals won on average, but nothing booked: no deal has "
                                        "a value; give the sources a value (sources.NAME.value) "
                                        "or add [segments] with one")
    never = revsim.loads(minimal_scenario().replace("won = 0.1, lost = 0.9", "lost = 1.0"))
    result = never.run(2, seed=1, jobs=1, progress=False)
    assert result.warnings[-1].startswith("no deal was won in any replication")


def test_a_healthy_scenario_warns_of_nothing(tmp_path: Path) -> None:
    calm = minimal_scenario().replace('patience = "moderate"               # speed-to-lead '
                                      'decay fitted to HBR 2011\n', "")
    assert revsim.loads(calm).run(2, seed=1, jobs=1, progress=False).warnings == []
    path = tmp_path / "calm.toml"
    path.write_text(calm, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(path), "-n", "2", "-j", "1", "-q"])
    assert result.exit_code == 0 and "warning" not in result.stderr
    path.write_text(minimal_scenario(), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(path), "-n", "2", "-j", "1", "-q"])
    assert result.exit_code == 0
    assert "warning: stage qualify:" in result.stderr
