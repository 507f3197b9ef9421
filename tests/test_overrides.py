"""Dotted-path overrides: ``Scenario.with_changes`` (the API behind ``revsim run --set``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAAS, minimal, scenario_dict, write_toml

import revsim
from revsim import OverrideError, ScenarioError
from revsim.cli import main
from revsim.scenario.load import apply_overrides, parse_value


@pytest.fixture(scope="module")
def saas() -> revsim.Scenario:
    return revsim.load(SAAS)


def pool(sc: revsim.Scenario, name: str):
    return next(p for p in sc.model.pools if p.name == name)


def stage(sc: revsim.Scenario, name: str):
    return next(s for s in sc.model.stages if s.name == name)


def test_change_headcount(saas: revsim.Scenario) -> None:
    before = pool(saas, "sdr").headcount
    changed = saas.with_changes({"pools.sdr.headcount": before - 1})
    assert pool(changed, "sdr").headcount == before - 1
    # the original is untouched, and the fingerprint follows the content
    assert pool(saas, "sdr").headcount == before
    assert saas.raw["pools"]["sdr"]["headcount"] == before
    assert changed.hash != saas.hash
    assert changed.with_changes({"pools.sdr.headcount": before}).hash == saas.hash


def test_change_changes_the_run() -> None:
    base = revsim.Scenario(scenario_dict({"sources": {"web": {"rate": "150/w"}}}))
    more = base.with_changes({"pools.staff.headcount": 3})
    r1 = base.run(replications=1, seed=3)
    r2 = more.run(replications=1, seed=3)
    assert r1.values("leads_in")[0] == r2.values("leads_in")[0]  # same arrivals (same seed)
    assert r2.values("headcount_end", "pool", "staff")[0] == 3
    assert r2.values("wait_mean", "stage", "work")[0] < r1.values("wait_mean", "stage", "work")[0]


def test_several_changes_at_once(saas: revsim.Scenario) -> None:
    changed = saas.with_changes({"pools.ae.headcount": 3, "scenario.horizon": "40 w",
                                 "stages.demo.routes": {"proposal": 0.5, "lost": 0.5}})
    assert pool(changed, "ae").headcount == 3
    assert changed.model.horizon == 40 * 168
    demo = stage(changed, "demo")
    assert demo.routes.probabilities == (0.5, 0.5)


def test_change_a_distribution_table(saas: revsim.Scenario) -> None:
    changed = saas.with_changes({"stages.demo.work": {"dist": "deterministic", "value": "3 h"}})
    assert stage(changed, "demo").work.mean == pytest.approx(3.0)
    changed = saas.with_changes({"stages.demo.work.p90": "8 h"})  # one parameter of the table
    assert stage(changed, "demo").work.mean > stage(saas, "demo").work.mean


def test_field_left_at_its_default_can_be_set(saas: revsim.Scenario) -> None:
    assert "patience" not in saas.raw["stages"]["demo"]
    assert stage(saas, "demo").patience is None
    changed = saas.with_changes({"stages.demo.patience": "moderate"})
    assert stage(changed, "demo").patience_mode == "decay"
    assert stage(changed, "demo").patience is not None
    # a nested field of a table the file does not have
    changed = saas.with_changes({"stages.demo.patience.after": "3 d"})
    assert stage(changed, "demo").patience.mean == pytest.approx(72.0)
    changed = saas.with_changes({"scenario.sample_every": "12 h"})
    assert changed.model.sample_every == 12.0


def test_unknown_entry_names_path_and_lists_valid_keys(saas: revsim.Scenario) -> None:
    with pytest.raises(OverrideError) as info:
        saas.with_changes({"pools.sdrr.headcount": 6})
    (line,) = info.value.lines()
    assert "pools.sdrr.headcount" in line
    assert "did you mean 'sdr'" in line
    assert "ae" in line and "sdr" in line


def test_unknown_field_names_path_and_lists_fields(saas: revsim.Scenario) -> None:
    with pytest.raises(OverrideError) as info:
        saas.with_changes({"pools.sdr.headcont": 6})
    (line,) = info.value.lines()
    assert "pools.sdr.headcont" in line and "did you mean 'headcount'" in line
    assert "attrition" in line  # other valid keys of a pool are listed


def test_unknown_stage_lists_the_stages(saas: revsim.Scenario) -> None:
    with pytest.raises(OverrideError) as info:
        saas.with_changes({"stages.dmeo.work": "1 h"})
    (line,) = info.value.lines()
    assert "stages.dmeo.work" in line and "did you mean 'demo'" in line
    for name in ("qualify", "legal", "negotiation"):
        assert name in line


def test_unknown_section(saas: revsim.Scenario) -> None:
    with pytest.raises(OverrideError) as info:
        saas.with_changes({"pool.sdr.headcount": 6})
    assert "did you mean 'pools'" in info.value.lines()[0]


def test_every_bad_path_is_reported(saas: revsim.Scenario) -> None:
    with pytest.raises(OverrideError) as info:
        saas.with_changes({"pools.sdrr.headcount": 6, "stages.demo.wrok": "1 h",
                           "pools.ae.headcount": 4})
    paths = [p.path for p in info.value.problems]
    assert paths == ["pools.sdrr.headcount", "stages.demo.wrok"]


def test_override_error_is_a_scenario_error(saas: revsim.Scenario) -> None:
    with pytest.raises(ScenarioError):
        saas.with_changes({"nope": 1})


def test_path_into_a_plain_value_is_rejected(saas: revsim.Scenario) -> None:
    with pytest.raises(OverrideError) as info:
        saas.with_changes({"pools.sdr.headcount.x": 1})
    assert info.value.problems[0].path == "pools.sdr.headcount.x"


def test_list_items_by_index(saas: revsim.Scenario) -> None:
    changed = saas.with_changes({"pools.ae.hires.0.count": 5})
    assert pool(changed, "ae").hires[0].count == 5
    with pytest.raises(OverrideError) as info:
        saas.with_changes({"pools.ae.hires.3.count": 5})
    assert info.value.problems[0].path == "pools.ae.hires.3.count"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("pools.sdr.headcount", "six"),
        ("pools.sdr.headcount", -2),
        ("pools.sdr.headcount", 2.5),
        ("stages.demo.work", "3 dys"),
        ("stages.demo.discipline", "random"),
        ("scenario.start", "next monday"),
        ("sources.inbound.rate", "lots"),
        ("stages.demo.routes", {"proposal": 0.5}),
    ],
)
def test_wrong_value_gives_a_clean_scenario_error(saas: revsim.Scenario, path: str,
                                                  value: object) -> None:
    with pytest.raises(ScenarioError) as info:
        saas.with_changes({path: value})
    assert not isinstance(info.value, OverrideError)  # the path is fine, the value is not
    assert [p.path for p in info.value.problems] == [path]
    assert info.value.lines()[0].startswith(f"{SAAS}: {path}: ")


def test_apply_overrides_does_not_mutate_its_input() -> None:
    raw = scenario_dict()
    out = apply_overrides(raw, {"pools.staff.headcount": 4, "stages.work.patience": "moderate"})
    assert raw == scenario_dict()
    assert out["pools"]["staff"]["headcount"] == 4
    assert out["stages"]["work"]["patience"] == "moderate"


@pytest.mark.parametrize(
    ("text", "value"),
    [("6", 6), ("0.3", 0.3), ("true", True), ('"3 d"', "3 d"), ("3 d", "3 d"),
     ("moderate", "moderate"), ("{ won = 1 }", {"won": 1}), ("[1, 2]", [1, 2])],
)
def test_parse_value(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_names_with_other_punctuation_work_in_paths_everywhere(tmp_path: Path) -> None:
    """A pool, stage and source named with a hyphen or a space: --set, compare and the
    bottleneck report (whose "+1 head" variants are dotted paths) all find them."""
    raw = {**minimal(), "sources": {"web in": {"rate": "60/w", "to": "first-touch"}},
           "pools": {"sdr-emea": {"headcount": 2}},
           "stages": {"first-touch": {"pool": "sdr-emea", "work": "1 h",
                                      "routes": {"won": 1.0}}}}
    sc = revsim.Scenario(raw)
    assert pool(sc.with_changes({"pools.sdr-emea.headcount": 3}), "sdr-emea").headcount == 3
    report = sc.bottlenecks(replications=2, seed=1, jobs=1, progress=False)
    assert set(report.marginal.pool) == {"sdr-emea"}
    path = write_toml(tmp_path / "names.toml", raw)
    result = CliRunner().invoke(main, ["compare", str(path), "--set",
                                       "pools.sdr-emea.headcount=3;stages.first-touch.work=2 h",
                                       "-n", "2", "-j", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "pools.sdr-emea.headcount=3" in result.output
