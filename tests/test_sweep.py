"""Parameter sweeps: designs, input errors, result tables, common random numbers, executor
independence, failed tasks and resuming after them."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import sweep_scenario

import revsim
from revsim.cli import main
from revsim.errors import ExperimentError, RevsimError
from revsim.experiment import core as experiment_core
from revsim.sweep import (
    Param,
    grid,
    latin_hypercube,
    parse_param,
    run_sweep,
    variants,
)
from revsim.sweep import runner as sweep_runner
from revsim.sweep.design import grid_levels

SCENARIO = sweep_scenario("sweep test")

KEY = ["point", "replication", "metric", "scope", "name"]
SUMMARY_STATS = ["mean", "ci_low", "ci_high", "half_width", "n"]
STAFFING = ["pools.sdr.headcount=1:2", "pools.ae.headcount=2,3"]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    path = tmp_path / "base.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture
def scenario(base: Path) -> revsim.Scenario:
    return revsim.load(base)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def assert_clean_failure(result, code: int = 2) -> str:
    """The command failed with ``code``, a message and no traceback; return its output."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.output


def sweep_args(base: Path, out: Path, *extra: str) -> list[str]:
    return ["sweep", str(base), "-j", "1", "-n", "2", "--no-progress", "-o", str(out), *extra]


# -- designs --------------------------------------------------------------------------------------


def test_parse_param_forms() -> None:
    p = parse_param("pools.sdr.headcount=2:8")
    assert (p.path, p.low, p.high, p.step, p.integer) == ("pools.sdr.headcount", 2, 8, None, True)
    assert grid_levels(p) == [2, 3, 4, 5, 6, 7, 8]
    assert all(isinstance(v, int) for v in grid_levels(p))

    p = parse_param("stages.qualify.routes.demo=0.1:0.5:0.1")
    assert not p.integer
    assert grid_levels(p) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])

    p = parse_param("pools.ae.headcount=4,6,8")
    assert p.levels == (4, 6, 8)
    assert grid_levels(p) == [4, 6, 8]

    p = parse_param('deals.contract.terms="net 15","net 30"')
    assert p.levels == ("net 15", "net 30")


def test_grid_has_every_combination() -> None:
    params = [parse_param("a.b.c=2:8"), parse_param("d.e.f=4,6,8"),
              parse_param("g.h.i=0.1:0.5:0.1")]
    points = grid(params)
    assert len(points) == 7 * 3 * 5
    assert len({p.id for p in points}) == len(points)
    combos = {tuple(p.changes[k] for k in ("a.b.c", "d.e.f", "g.h.i")) for p in points}
    expected = set(itertools.product(range(2, 9), (4, 6, 8), (0.1, 0.2, 0.3, 0.4, 0.5)))
    assert {(a, b, round(c, 9)) for a, b, c in combos} == expected


def test_point_ids_do_not_depend_on_parameter_order() -> None:
    one = grid([parse_param("a.b=1:3"), parse_param("c.d=5,6")])
    two = grid([parse_param("c.d=5,6"), parse_param("a.b=1:3")])
    assert {p.id for p in one} == {p.id for p in two}


def test_latin_hypercube_within_ranges_and_reproducible() -> None:
    params = [parse_param("pools.sdr.headcount=1:100"), parse_param("x.y.z=0.2:0.8")]
    points = latin_hypercube(params, 12, seed=7)
    assert len(points) == 12
    heads = [p.changes["pools.sdr.headcount"] for p in points]
    shares = [p.changes["x.y.z"] for p in points]
    assert all(isinstance(h, int) and 1 <= h <= 100 for h in heads)
    assert all(0.2 <= s <= 0.8 for s in shares)
    # Latin: each of the 12 equal strata of the continuous range holds exactly one point.
    strata = sorted(min(int((s - 0.2) / 0.6 * 12), 11) for s in shares)
    assert strata == list(range(12))
    again = latin_hypercube(params, 12, seed=7)
    assert [p.changes for p in again] == [p.changes for p in points]
    other = latin_hypercube(params, 12, seed=8)
    assert [p.changes for p in other] != [p.changes for p in points]


def test_latin_hypercube_needs_ranges_and_points() -> None:
    with pytest.raises(RevsimError, match="at least 1 point"):
        latin_hypercube([parse_param("a.b=1:3")], 0, seed=1)
    with pytest.raises(RevsimError, match="range"):
        latin_hypercube([parse_param("a.b=1,2,3")], 5, seed=1)


def test_variants_design() -> None:
    points = variants([{"name": "lean", "set": {"pools.sdr.headcount": 1}},
                       {"name": "heavy", "set": {"pools.sdr.headcount": 4,
                                                 "pools.ae.headcount": 4}},
                       {"name": "lean again", "set": {"pools.sdr.headcount": 1}}])
    assert [p.label for p in points] == ["lean", "heavy", "lean again"]
    assert points[1].changes == {"pools.sdr.headcount": 4, "pools.ae.headcount": 4}
    assert len({p.id for p in points}) == 3  # same changes, different names: distinct points
    with pytest.raises(RevsimError, match="name"):
        variants([{"set": {"pools.sdr.headcount": 1}}])


def test_non_integer_range_needs_a_step_for_a_grid() -> None:
    with pytest.raises(RevsimError, match="step"):
        grid([parse_param("a.b=0.1:0.5")])


# -- bad input: exit 2, one clean message, nothing run ---------------------------------------------


def test_path_that_does_not_exist(runner: CliRunner, base: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = assert_clean_failure(runner.invoke(
        main, sweep_args(base, out, "--param", "pools.nosuch.headcount=1:2")))
    assert "nosuch" in text
    assert not out.exists()


def test_a_horizon_shorter_than_the_warmup_is_refused_before_running(
        runner: CliRunner, base: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = assert_clean_failure(runner.invoke(main, sweep_args(
        base, out, "--param", "pools.ae.headcount=2,3", "--warmup", "2 w", "--horizon", "1 w")))
    assert "warmup" in text and "not shorter than the horizon" in text
    assert "ae.headcount=2" in text and "ae.headcount=3" in text
    assert not out.exists()


def test_empty_range(runner: CliRunner, base: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = assert_clean_failure(runner.invoke(
        main, sweep_args(base, out, "--param", "pools.sdr.headcount=8:7")))
    assert "empty range" in text
    assert not out.exists()
    with pytest.raises(RevsimError, match="empty range"):
        parse_param("pools.sdr.headcount=8:7")


def test_bad_param_syntax(runner: CliRunner, base: Path, tmp_path: Path) -> None:
    text = assert_clean_failure(runner.invoke(
        main, sweep_args(base, tmp_path / "out", "--param", "pools.sdr.headcount")))
    assert "PATH=" in text


def test_lhs_with_zero_points(runner: CliRunner, base: Path, tmp_path: Path,
                              scenario: revsim.Scenario) -> None:
    out = tmp_path / "out"
    assert_clean_failure(runner.invoke(main, sweep_args(
        base, out, "--design", "lhs", "--points", "0", "--param", "pools.sdr.headcount=1:3")))
    assert not out.exists()
    with pytest.raises(RevsimError):
        run_sweep(scenario, out, params=["pools.sdr.headcount=1:3"], design="lhs", points=0,
                  jobs=1, progress=False)
    assert not out.exists()


def test_variants_design_without_variants(runner: CliRunner, base: Path,
                                          tmp_path: Path) -> None:
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text('[sweep]\ndesign = "variants"\nreplications = 2\n', encoding="utf-8")
    out = tmp_path / "out"
    text = assert_clean_failure(runner.invoke(main, ["sweep", str(base), str(sweep_file), "-j", "1",
                                                     "--no-progress", "-o", str(out)]))
    assert "no points" in text
    assert not out.exists()


def test_grid_without_parameters(runner: CliRunner, base: Path, tmp_path: Path) -> None:
    text = assert_clean_failure(runner.invoke(main, sweep_args(base, tmp_path / "out")))
    assert "parameter" in text


def test_sweep_file_with_unknown_field(runner: CliRunner, base: Path, tmp_path: Path) -> None:
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text('[sweep]\nreplicatons = 2\n[sweep.params]\n'
                          '"pools.sdr.headcount" = "1:2"\n', encoding="utf-8")
    text = assert_clean_failure(runner.invoke(main, ["sweep", str(base), str(sweep_file),
                                                     "-o", str(tmp_path / "out")]))
    assert "replicatons" in text


def test_folder_holding_a_different_sweep(runner: CliRunner, base: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = runner.invoke(main, sweep_args(base, out, "--param", "pools.sdr.headcount=1:2"))
    assert first.exit_code == 0, first.output
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    manifest = (out / "manifest.json").read_bytes()
    for flags in (["--param", "pools.sdr.headcount=1:3"], ["--param", "pools.sdr.headcount=1:3",
                                                             "--resume"]):
        text = assert_clean_failure(runner.invoke(main, sweep_args(base, out, *flags)))
        assert "different sweep" in text
    # Nothing in the folder was touched.
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert (out / "manifest.json").read_bytes() == manifest


def test_same_sweep_again_needs_resume(runner: CliRunner, base: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = sweep_args(base, out, "--param", "pools.sdr.headcount=1:2")
    assert runner.invoke(main, args).exit_code == 0
    text = assert_clean_failure(runner.invoke(main, args))
    assert "--resume" in text


def test_non_empty_folder_that_is_not_a_sweep(runner: CliRunner, base: Path,
                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    for extra in ([], ["--resume"]):
        text = assert_clean_failure(runner.invoke(
            main, sweep_args(base, out, "--param", "pools.sdr.headcount=1:2", *extra)))
        assert "not a sweep folder" in text
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_folder_of_a_run_is_not_a_sweep(runner: CliRunner, base: Path, tmp_path: Path) -> None:
    """``revsim run -o`` also writes a manifest.json; a sweep must not take that folder over."""
    out = tmp_path / "run"
    done = runner.invoke(main, ["run", str(base), "-n", "2", "-q", "-o", str(out)])
    assert done.exit_code == 0, done.output
    before = sorted(p.name for p in out.iterdir())
    assert_clean_failure(runner.invoke(
        main, sweep_args(base, out, "--param", "pools.sdr.headcount=1:2")))
    assert sorted(p.name for p in out.iterdir()) == before


@pytest.mark.parametrize("content", ["not json at all", "[1, 2]"])
def test_folder_with_a_foreign_manifest(runner: CliRunner, base: Path, tmp_path: Path,
                                        content: str) -> None:
    """A manifest.json that is not a sweep's (not JSON, or not an object) is a clean error."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(content, encoding="utf-8")
    assert_clean_failure(runner.invoke(
        main, sweep_args(base, out, "--param", "pools.sdr.headcount=1:2")))
    assert (out / "manifest.json").read_text(encoding="utf-8") == content


def test_unknown_design_in_the_api(scenario: revsim.Scenario, tmp_path: Path) -> None:
    with pytest.raises(ExperimentError, match="unknown design"):
        run_sweep(scenario, tmp_path / "out", params=["pools.sdr.headcount=1:2"],
                  design="sobol", jobs=1, progress=False)


# -- tables ---------------------------------------------------------------------------------------


@pytest.fixture
def staffing_sweep(scenario: revsim.Scenario, tmp_path: Path):
    return run_sweep(scenario, tmp_path / "staffing", params=STAFFING, replications=3, seed=11,
                     jobs=1, progress=False)


def test_results_table_is_tidy(staffing_sweep) -> None:
    res = staffing_sweep
    df = res.results
    assert res.params == ["pools.ae.headcount", "pools.sdr.headcount"]
    for col in ["point", "label", *res.params, "replication", "metric", "scope", "name", "unit",
                "value", "staff_cost"]:
        assert col in df.columns
    assert not df.duplicated(KEY).any()
    kpis = df.groupby(["point", "replication"]).apply(
        lambda g: frozenset(zip(g["metric"], g["scope"], g["name"], strict=True)), include_groups=False)
    assert kpis.nunique() == 1  # every task reports the same KPIs
    n_kpi = len(kpis.iloc[0])
    assert n_kpi > 10
    assert len(df) == 4 * 3 * n_kpi
    assert sorted(df.replication.unique()) == [0, 1, 2]
    for point in res.spec.points:
        rows = df[df.point == point.id]
        assert len(rows) == 3 * n_kpi
        for path, value in point.changes.items():
            assert (rows[path] == value).all()
        sdr, ae = point.changes["pools.sdr.headcount"], point.changes["pools.ae.headcount"]
        assert (rows.staff_cost == sdr * 90_000 + ae * 150_000).all()
        assert (rows.label == point.label).all()
    # Grid order, then replication: the table does not depend on completion order.
    order = {p.id: i for i, p in enumerate(res.spec.points)}
    keys = list(zip(df.point.map(order), df.replication, strict=True))
    assert keys == sorted(keys)


def test_staff_cost_counts_planned_hires_and_departures(base: Path) -> None:
    """A hire one week into a three-week run, measured over the last two weeks, is paid for
    the whole window; a departure halfway through the window halves that head's cost."""
    _models, cost = sweep_runner.compile_points(revsim.load(base).raw, variants([
        {"name": "as is", "set": {}},
        {"name": "hire", "set": {"pools.sdr.hires": [{"date": "2027-01-11", "count": 1}]}},
        {"name": "leave", "set": {"pools.ae.departures": [{"date": "2027-01-18", "count": 1}]}},
    ]), warmup=168.0)  # the hire is at t = 168 h, the departure at 336 h
    as_is, hired, left = cost.values()
    assert as_is == 2 * 90_000 + 2 * 150_000
    assert hired == pytest.approx(as_is + 90_000)
    assert left == pytest.approx(as_is - 150_000 / 2)


def test_summary_per_point_has_cis(staffing_sweep) -> None:
    res = staffing_sweep
    s, df = res.summary, res.results
    for col in ["point", "label", *res.params, "metric", "scope", "name", "unit",
                *SUMMARY_STATS, "staff_cost"]:
        assert col in s.columns
    n_kpi = df.groupby(["point", "replication"]).size().iloc[0]
    assert len(s) == 4 * n_kpi
    assert not s.duplicated(["point", "metric", "scope", "name"]).any()
    assert (s.n == 3).all()
    finite = s.dropna(subset=["mean", "ci_low", "ci_high"])
    assert len(finite) > 0
    assert (finite.ci_low <= finite["mean"] + 1e-9).all()
    assert (finite["mean"] <= finite.ci_high + 1e-9).all()
    means = df.groupby(["point", "metric", "scope", "name"], sort=False)["value"].mean()
    merged = s.set_index(["point", "metric", "scope", "name"])["mean"]
    pd.testing.assert_series_equal(merged.sort_index(), means.sort_index().rename("mean"),
                                   check_exact=False, rtol=1e-12, check_names=False)
    leads = res.kpi("leads_in")
    assert len(leads) == 4 and (leads.n == 3).all()


def test_common_random_numbers(staffing_sweep) -> None:
    """Replication r sees the same arrivals at every point; replications differ."""
    df = staffing_sweep.results
    leads = df[(df.metric == "leads_in") & (df.scope == "total")]
    table = leads.pivot(index="replication", columns="point", values="value")
    assert table.shape == (3, 4)
    for _, row in table.iterrows():
        assert row.nunique() == 1, row.to_dict()
    assert table.iloc[:, 0].nunique() > 1  # the replications are not copies of each other
    # But staffing does change the outcome somewhere (the sweep is not trivially constant).
    waits = df[(df.metric == "wait_mean") & (df.name == "qualify")]
    assert waits.groupby("point").value.mean().nunique() > 1


def test_sweep_file_with_variants_and_params(runner: CliRunner, base: Path,
                                             tmp_path: Path) -> None:
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text("""\
[sweep]
design = "variants"
replications = 2
seed = 5
horizon = "2 w"

[[sweep.variants]]
name = "lean"
set = { "pools.sdr.headcount" = 1 }

[[sweep.variants]]
name = "more closers"
set = { "pools.sdr.headcount" = 2, "pools.ae.headcount" = 4 }
""", encoding="utf-8")
    out = tmp_path / "out"
    done = runner.invoke(main, ["sweep", str(base), str(sweep_file), "-j", "1", "--no-progress",
                                "-o", str(out), "--csv"])
    assert done.exit_code == 0, done.output
    df = pd.read_parquet(out / "results.parquet")
    assert list(df.drop_duplicates("point").label) == ["lean", "more closers"]
    assert sorted(df.replication.unique()) == [0, 1]
    lean = df[df.label == "lean"]
    assert (lean["pools.sdr.headcount"] == 1).all()
    assert lean["pools.ae.headcount"].isna().all()  # not set by this variant
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["horizon_hours"] == 2 * 7 * 24
    assert manifest["seed"] == 5 and manifest["design"] == "variants"
    for name in ("results", "summary"):
        assert (out / f"{name}.parquet").exists() and (out / f"{name}.csv").exists()


def test_sweep_file_params_and_flags_combine(runner: CliRunner, base: Path,
                                             tmp_path: Path) -> None:
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text('[sweep]\nreplications = 2\n[sweep.params]\n'
                          '"pools.sdr.headcount" = "1:2"\n"pools.ae.headcount" = [2, 3, 4]\n',
                          encoding="utf-8")
    out = tmp_path / "out"
    done = runner.invoke(main, ["sweep", str(base), str(sweep_file), "-j", "1", "--no-progress",
                                "-o", str(out)])
    assert done.exit_code == 0, done.output
    df = pd.read_parquet(out / "results.parquet")
    assert df.point.nunique() == 2 * 3


# -- results do not depend on the executor ----------------------------------------------------------


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes()
            for name in ("results.parquet", "results.csv", "summary.parquet", "summary.csv")}


def test_identical_results_whatever_the_worker_count(scenario: revsim.Scenario,
                                                     tmp_path: Path) -> None:
    kw = dict(params=STAFFING, replications=3, seed=3, progress=False)
    serial = run_sweep(scenario, tmp_path / "j1", jobs=1, **kw)
    pooled = run_sweep(scenario, tmp_path / "j2", jobs=2, **kw)
    assert serial.results.equals(pooled.results)
    assert serial.summary.equals(pooled.summary)
    serial.write(csv=True)
    pooled.write(csv=True)
    a, b = _files(tmp_path / "j1"), _files(tmp_path / "j2")
    for name in a:
        assert a[name] == b[name], name


def test_cli_matches_api(runner: CliRunner, base: Path, scenario: revsim.Scenario,
                         tmp_path: Path) -> None:
    api = run_sweep(scenario, tmp_path / "api", params=STAFFING, replications=2, seed=1,
                    jobs=1, progress=False)
    api.write()
    args = ["sweep", str(base), "--no-progress", "-n", "2", "-j", "2", "-o", str(tmp_path / "cli")]
    for p in STAFFING:
        args += ["--param", p]
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    assert (tmp_path / "cli" / "results.parquet").read_bytes() == \
        (tmp_path / "api" / "results.parquet").read_bytes()


def test_resume_of_a_finished_sweep_runs_nothing(scenario: revsim.Scenario,
                                                 tmp_path: Path) -> None:
    kw = dict(params=["pools.sdr.headcount=1:2"], replications=2, jobs=1, progress=False)
    first = run_sweep(scenario, tmp_path / "out", **kw)
    first.write()
    before = (tmp_path / "out" / "results.parquet").read_bytes()
    again = run_sweep(scenario, tmp_path / "out", resume=True, **kw)
    assert (again.ran, again.skipped) == (0, 4)
    assert again.results.equals(first.results)
    again.write()
    assert (tmp_path / "out" / "results.parquet").read_bytes() == before


def headcounts(model) -> dict[str, int]:
    """Each pool's headcount in an engine model (which point of the sweep it is)."""
    return {pool.name: pool.headcount for pool in model.pools}


# -- failed tasks ---------------------------------------------------------------------------------


def test_a_point_that_crashes_at_run_time(runner: CliRunner, base: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Every replication of one point raises inside the model (validation cannot catch every
    run-time failure): the CLI reports it without a traceback, exits 1, and the other point
    completes and is saved."""
    real = experiment_core.run_one

    def crashes_for_three_aes(model, seed, replication, options):
        if headcounts(model)["ae"] == 3:
            raise ZeroDivisionError("model blew up")
        return real(model, seed, replication, options)

    monkeypatch.setattr(experiment_core, "run_one", crashes_for_three_aes)
    out = tmp_path / "out"
    done = runner.invoke(main, sweep_args(base, out, "--param", "pools.ae.headcount=2,3"))
    assert_clean_failure(done, code=1)
    assert "failed: point" in done.output and "model blew up" in done.output
    failures = [json.loads(f.read_text()) for f in sorted((out / "failed").glob("*.json"))]
    assert [f["replication"] for f in failures] == [0, 1]
    assert all("ZeroDivisionError" in f["error"] for f in failures)
    df = pd.read_parquet(out / "results.parquet")
    assert df.point.nunique() == 1
    assert set(df["pools.ae.headcount"]) == {2}
    assert sorted(df.replication.unique()) == [0, 1]
    assert {f["point"] for f in failures}.isdisjoint(set(df.point))


def test_failed_task_is_reported_and_resume_reruns_only_it(
        scenario: revsim.Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kw = dict(params=STAFFING, replications=3, seed=2, jobs=1, progress=False)
    clean = run_sweep(scenario, tmp_path / "clean", **kw)
    clean.write()
    target = clean.spec.points[2]
    real = experiment_core.run_one
    calls: list[tuple[str, int]] = []

    fail = True

    def flaky(model, seed, replication, options):
        calls.append((json.dumps({f"pools.{k}.headcount": v for k, v in headcounts(model).items()},
                                 sort_keys=True), replication))
        is_target = all(headcounts(model)[path.split(".")[1]] == value
                        for path, value in target.changes.items())
        if fail and is_target and replication == 1:
            raise RuntimeError("boom in the model")
        return real(model, seed, replication, options)

    monkeypatch.setattr(experiment_core, "run_one", flaky)
    out = tmp_path / "out"
    broken = run_sweep(scenario, out, **kw)
    assert len(calls) == 12
    assert broken.ran == 12
    assert len(broken.failed) == 1
    failure = broken.failed[0]
    assert failure["point"] == target.id and failure["replication"] == 1
    assert "RuntimeError" in failure["error"] and "boom in the model" in failure["error"]
    assert len(list((out / "failed").glob("*.json"))) == 1
    # Everything else completed.
    got = set(zip(broken.results.point, broken.results.replication, strict=True))
    expected = {(p.id, r) for p in clean.spec.points for r in range(3)}
    assert got == expected - {(target.id, 1)}

    calls.clear()
    fail = False  # the cause is fixed; resume runs only the task that failed
    resumed = run_sweep(scenario, out, resume=True, **kw)
    assert calls == [(json.dumps(target.changes, sort_keys=True), 1)]
    assert (resumed.ran, resumed.skipped) == (1, 11)
    assert resumed.failed == []
    assert list((out / "failed").glob("*.json")) == []
    assert resumed.results.equals(clean.results)
    assert resumed.summary.equals(clean.summary)
    resumed.write()
    assert (out / "results.parquet").read_bytes() == (tmp_path / "clean" / "results.parquet"
                                                      ).read_bytes()


def test_plots_option(runner: CliRunner, base: Path, tmp_path: Path) -> None:
    """``revsim sweep --plots DIR`` writes plot files (the option is advertised in --help)."""
    plots = tmp_path / "plots"
    done = runner.invoke(main, sweep_args(base, tmp_path / "out", "--param",
                                          "pools.sdr.headcount=1:2", "--plots", str(plots)))
    assert done.exit_code == 0, done.output
    assert "Traceback" not in done.output
    assert plots.is_dir() and any(plots.iterdir())


def test_param_objects_are_accepted(scenario: revsim.Scenario, tmp_path: Path) -> None:
    res = run_sweep(scenario, tmp_path / "out", params=[Param("pools.sdr.headcount", (1, 3))],
                    replications=1, jobs=1, progress=False)
    assert sorted(res.results["pools.sdr.headcount"].unique()) == [1, 3]


# -- the closing summary ------------------------------------------------------------------------

def test_a_sweep_ends_with_its_best_points_by_the_objective(runner: CliRunner, base: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "sw"
    result = runner.invoke(main, sweep_args(base, out, "--param", "pools.sdr.headcount=1:3",
                                            "--objective", "won"))
    assert result.exit_code == 0, result.output
    summary = pd.read_parquet(out / "summary.parquet")
    won = summary[(summary.metric == "won") & (summary.scope == "total")]
    ranked = won.sort_values("mean", ascending=False, kind="stable")
    lines = result.stdout.splitlines()
    assert lines[0] == "Best 3 of 3 points by deals won (higher is better): mean [95% CI], n"
    assert [line.split()[0] for line in lines[1:4]] == list(ranked["label"])
    assert all(line.split()[-1].startswith("n=") or "overlaps" in line for line in lines[1:4])


def test_a_lower_is_better_objective_ranks_the_other_way(scenario: revsim.Scenario,
                                                        tmp_path: Path) -> None:
    result = scenario.sweep(tmp_path / "sw", ["pools.sdr.headcount=1:3"], replications=2,
                            jobs=1, progress=False)
    metric = "time_to_first_touch_mean"
    best = result.best(metric)
    assert list(best["mean"]) == sorted(best["mean"])
    assert result.format_best(metric).startswith(f"Best {len(best)} of 3 points by ")
    assert "(lower is better)" in result.format_best(metric)


def test_an_unknown_objective_is_refused_before_running(runner: CliRunner, base: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "sw"
    result = runner.invoke(main, sweep_args(base, out, "--param", "pools.sdr.headcount=1:3",
                                            "--objective", "bookngs"))
    text = assert_clean_failure(result)
    assert "error: sweep: --objective: unknown KPI 'bookngs'; did you mean bookings" in text
    assert not out.exists()
