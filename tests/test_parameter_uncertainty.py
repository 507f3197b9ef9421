"""Parameter uncertainty: bootstrap draws of a fit's parameters, written beside the fitted
scenario by ``revsim fit``, and replications that each run one draw.

The Maven sample export (tests/data) is fitted once; its draws are checked against the fit's
own intervals, read back, applied to the model, and run: with uncertainty on, the spread of
"leads in" between replications grows by the rate draws' variance (F and chi-square bounds);
off, the outputs are those of a scenario without draws.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

import revsim
from revsim.calibrate.draws import bootstrap_draws, draws_path
from revsim.calibrate.fitting import fit_duration
from revsim.cli import main
from revsim.errors import ScenarioError
from revsim.experiment import draw_index
from revsim.kpi_registry import format_value
from revsim.scenario.parameters import value_at, with_parameters

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "maven_pipeline_sample.csv"
DRAWS = 100
N = 40  # replications per arm of the spread test


@pytest.fixture(scope="module")
def fitted():
    return revsim.fit(SAMPLE, format="maven")


@pytest.fixture(scope="module")
def fitted_file(fitted, tmp_path_factory) -> Path:
    return fitted.write(tmp_path_factory.mktemp("draws") / "fitted.toml", draws=DRAWS)


@pytest.fixture(scope="module")
def scenario(fitted_file):
    return revsim.load(fitted_file)


def _run_cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def _copy(fitted_file: Path, folder: Path) -> Path:
    """The fitted scenario and its draws, copied into ``folder`` (to break them there)."""
    folder.mkdir(exist_ok=True)
    for src in (fitted_file, draws_path(fitted_file)):
        (folder / src.name).write_bytes(src.read_bytes())
    return folder / fitted_file.name


def assert_input_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


# -- the draws file ------------------------------------------------------------------------------

def test_the_fitted_scenario_names_its_draws_with_their_checksum(fitted_file, scenario) -> None:
    text = fitted_file.read_text(encoding="utf-8")
    data = draws_path(fitted_file).read_bytes()
    assert draws_path(fitted_file).name == "fitted.draws.json"
    assert scenario.raw["parameter_draws"]["file"] == "fitted.draws.json"
    assert scenario.raw["parameter_draws"]["sha256"] == __import__("hashlib").sha256(
        data).hexdigest()
    assert re.search(r"# 100 bootstrap draws of 4 parameters", text)


def test_draws_round_trip(fitted, fitted_file, scenario) -> None:
    draws = scenario.parameter_draws
    assert len(draws) == DRAWS
    assert draws.parameters == ("sources.leads.rate", "segments.all.value",
                                "stages.engaging.routes", "stages.engaging.delay")
    # each parameter's fitted value is the scenario's own, as its file gives it
    for path, value in zip(draws.parameters, draws.fitted, strict=True):
        assert value_at(scenario.raw, path) == value
    # what is read is what was drawn, and draw b depends on (seed, b) only: the first 10 of
    # the 100 draws are the 10 draws
    assert [list(d) for d in draws.draws[:10]] == bootstrap_draws(fitted, 10).rows
    # every draw makes a valid model that differs from the fitted one where the draw does
    for j in (0, 1, DRAWS - 1):
        model = draws.model(scenario.model, j)
        assert model.sources[0].rate != scenario.model.sources[0].rate
        assert model.raw["stages"]["engaging"]["routes"] == draws.draw(j)["stages.engaging.routes"]


def test_without_draws_the_scenario_is_as_before(fitted, tmp_path) -> None:
    path = fitted.write(tmp_path / "plain.toml", draws=0)
    assert path.read_text(encoding="utf-8") == fitted.to_toml()
    assert "parameter_draws" not in path.read_text(encoding="utf-8")
    assert not draws_path(path).exists()


def test_route_draws_spread_like_the_fits_bootstrap(fitted, scenario) -> None:
    """The route draws (journeys resampled) and the fit's interval (visits resampled, 400
    times) are bootstraps of the same estimator: their standard deviations agree within the
    sampling error of two standard deviations (relative SE 1/sqrt(2(n-1)) each, 3 sigma)."""
    draws = scenario.parameter_draws
    won = np.array([d[2]["won"] for d in draws.draws])
    fit_se = float(fitted.transitions.set_index("to").loc["won", "se"])
    tol = 3 * math.sqrt(1 / (2 * (DRAWS - 1)) + 1 / (2 * (400 - 1)))
    assert abs(math.log(won.std(ddof=1) / fit_se)) < tol
    # and centre on the fitted share (within 4 standard errors of the mean of the draws)
    fitted_won = fitted.raw["stages"]["engaging"]["routes"]["won"]
    assert abs(won.mean() - fitted_won) < 4 * won.std(ddof=1) / math.sqrt(DRAWS) + 0.01


def test_rate_draws_match_the_fitted_interval(fitted, scenario) -> None:
    """Weeks resampled: the draws' 95% range is the overdispersion-widened interval of
    fit_rate, within the Monte Carlo error of two 100-draw quantiles (a quarter of its
    width)."""
    rates = np.array([float(d[0].split("/")[0]) for d in scenario.parameter_draws.draws])
    row = fitted.arrivals.iloc[0]
    lo, hi = np.quantile(rates, [0.025, 0.975])
    width = row["ci_high"] - row["ci_low"]
    assert abs(lo - row["ci_low"]) < width / 4 and abs(hi - row["ci_high"]) < width / 4


def test_a_refit_like_the_fit_on_its_own_data_gives_the_fitted_value() -> None:
    rng = np.random.default_rng(5)
    hours = rng.lognormal(3.0, 0.7, 400)
    observed = rng.random(400) > 0.2
    fit = fit_duration(hours, observed)
    assert fit.fallback is None
    refit = fit_duration(hours, observed, like=fit)
    assert refit.spec == fit.spec and list(refit.fits) == [fit.best]
    # and on a resample: the same family with other parameters
    pick = rng.integers(0, 400, 400)
    other = fit_duration(hours[pick], observed[pick], like=fit)
    assert other.best == fit.best and other.spec != fit.spec


# -- applying a draw ----------------------------------------------------------------------------

def test_a_value_set_since_the_fit_keeps_its_value(scenario) -> None:
    draws = scenario.parameter_draws
    routes = {"lost": 0.5, "won": 0.5}
    variant = scenario.with_changes({"stages.engaging.routes": routes})
    model = draws.model(variant.model, 3)
    assert model.raw["stages"]["engaging"]["routes"] == routes  # set on purpose: kept
    assert model.raw["sources"]["leads"]["rate"] == draws.draw(3)["sources.leads.rate"]
    # without the fitted values every parameter of the draw is applied
    plain = with_parameters(variant.model, draws.draw(3))
    assert plain.raw["stages"]["engaging"]["routes"] == draws.draw(3)["stages.engaging.routes"]


def test_the_draw_of_a_replication_depends_on_seed_and_replication_only() -> None:
    picks = [draw_index(7, r, 200) for r in range(50)]
    assert picks == [draw_index(7, r, 200) for r in range(50)]
    assert len(set(picks)) > 30 and all(0 <= j < 200 for j in picks)
    assert picks != [draw_index(8, r, 200) for r in range(50)]


# -- runs ---------------------------------------------------------------------------------------

def _values(result, metric: str) -> np.ndarray:
    s = result.summary
    return s[(s.metric == metric) & (s.scope == "total")].sort_values("replication")[
        "value"].to_numpy(float)


def test_parameter_uncertainty_widens_the_spread_by_the_draws_variance(scenario) -> None:
    """Leads arrive as a Poisson process, so off, "leads in" has variance = mean. With a draw
    per replication its variance is mean + mean^2 x (relative variance of the rate draws), by
    the law of total variance (about 7 x here over 4 years). F test: the ratio of the two
    sample variances exceeds its 99.9% point under equal variances; chi-square: the variance
    with draws is within the 99.9% interval around its prediction."""
    off = scenario.run(N, seed=11, horizon="4 y", jobs=1, parameter_uncertainty=False)
    on = scenario.run(N, seed=11, horizon="4 y", jobs=1, parameter_uncertainty=True)
    v_off, v_on = _values(off, "leads_in"), _values(on, "leads_in")
    ratio = v_on.var(ddof=1) / v_off.var(ddof=1)
    assert ratio > stats.f.ppf(0.999, N - 1, N - 1), ratio
    draws = scenario.parameter_draws
    fitted_rate = float(draws.fitted[0].split("/")[0])
    used = on.manifest["parameter_uncertainty"]["draw_of_replication"]
    assert used == [draw_index(11, r, DRAWS) for r in range(N)]
    rates = np.array([float(d[0].split("/")[0]) for d in draws.draws]) / fitted_rate
    mean = v_off.mean()
    predicted = mean * rates.mean() + mean**2 * rates.var()
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], N - 1) / (N - 1)
    assert lo < v_on.var(ddof=1) / predicted < hi, (v_on.var(ddof=1), predicted)


def test_off_by_default_and_off_is_a_run_without_draws(scenario, fitted, tmp_path) -> None:
    plain = revsim.load(fitted.write(tmp_path / "plain.toml", draws=0))
    runs = [scenario.run(3, seed=5, jobs=1),
            scenario.run(3, seed=5, jobs=1, parameter_uncertainty=False),
            plain.run(3, seed=5, jobs=1)]
    assert all(r.summary.equals(runs[0].summary) for r in runs)
    assert all("parameter_uncertainty" not in r.manifest for r in runs)
    assert "parameter uncertainty" not in runs[0].table()
    on = scenario.run(3, seed=5, jobs=1, parameter_uncertainty=True)
    assert not on.summary.equals(runs[0].summary)
    assert on.table().endswith("\nparameter uncertainty: on (100 draws from fitted.draws.json)")


def test_the_forecast_default_is_on_when_the_scenario_has_draws(scenario, fitted, tmp_path
                                                                ) -> None:
    assert scenario.draws_for(None, default=True) is scenario.parameter_draws
    assert scenario.draws_for(None) is None and scenario.draws_for(False, default=True) is None
    plain = revsim.load(fitted.write(tmp_path / "plain.toml", draws=0))
    assert plain.draws_for(None, default=True) is None
    with pytest.raises(ScenarioError, match="refit it with `revsim fit --bootstrap N`"):
        plain.draws_for(True)


def test_a_forecast_runs_one_draw_per_replication_by_default(scenario, fitted, tmp_path
                                                              ) -> None:
    """From the state the fitted log gives at mid-year: on by default with draws, named in
    the output; off is the forecast of the same scenario without draws, from the same seed."""
    state = revsim.build_state(SAMPLE, scenario=scenario, format="maven", as_of="2017-06-30")
    on = scenario.forecast(state, "2017-09-30", "month", replications=4, seed=3, jobs=1,
                           parameter_uncertainty=True)
    used = on.manifest["parameter_uncertainty"]["draw_of_replication"]
    assert used == [draw_index(3, r, DRAWS) for r in range(4)]
    assert "parameter uncertainty: on (100 draws" in on.format()
    assert on.without_uncertainty is None
    # each draw's model starts from the state too: the open pipeline still books
    assert on.values("bookings_open_pipeline").gt(0).all()
    off = scenario.forecast(state, "2017-09-30", "month", replications=4, seed=3, jobs=1,
                            parameter_uncertainty=False)
    plain = revsim.load(fitted.write(tmp_path / "plain.toml", draws=0))
    same = plain.forecast(state, "2017-09-30", "month", replications=4, seed=3, jobs=1)
    assert "parameter_uncertainty" not in off.manifest
    assert off.summary.equals(same.summary) and not off.summary.equals(on.summary)
    assert "parameter uncertainty" not in off.format()
    # the default with draws: both, side by side, each the same as run alone
    both = scenario.forecast(state, "2017-09-30", "month", replications=4, seed=3, jobs=1)
    assert both.summary.equals(on.summary)
    assert both.without_uncertainty is not None
    assert both.without_uncertainty.summary.equals(off.summary)
    text = both.format()
    assert "Parameter uncertainty, whole forecast: P10-P50-P90 with the fit's" in text
    row = next(line for line in text.splitlines() if line.startswith("  deals won   "))
    total = (both.figure("won").iloc[-1], off.figure("won").iloc[-1])
    assert row.split()[-6:] == [format_value(r[c], "count", "USD") for r in total
                                for c in ("p10", "p50", "p90")]


def test_forecast_both_ways_from_the_cli(fitted_file, tmp_path) -> None:
    state = tmp_path / "state"
    result = _run_cli("state", SAMPLE, "--format", "maven", "--as-of", "2017-06-30",
                      "--scenario", fitted_file, "-o", state)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = _run_cli("forecast", fitted_file, "--state", state, "--until", "2017-08-31",
                      "-n", 3, "-j", 1, "-o", out, "--parameter-uncertainty", "both")
    assert result.exit_code == 0, result.output
    assert "without it (the parameters as fitted), same seed" in result.output
    without = pd.read_csv(out / "forecast_without_parameter_uncertainty.csv")
    assert list(without.columns) == list(pd.read_csv(out / "forecast.csv").columns)
    result = _run_cli("forecast", fitted_file, "--state", state, "--until", "2017-08-31",
                      "-n", 3, "-j", 1, "-o", out, "--parameter-uncertainty", "on")
    assert result.exit_code == 0, result.output
    assert "same seed" not in result.output
    assert not (out / "forecast_without_parameter_uncertainty.csv").exists()  # replaced whole


def test_compare_runs_the_same_draw_in_base_and_variant(scenario) -> None:
    """A variant that changes nothing the simulation reads: with common random numbers and
    the same draw in both, every replication's difference is exactly 0."""
    comparison = scenario.compare({"segments.all.description": "renamed"}, replications=4,
                                  seed=3, jobs=1, parameter_uncertainty=True)
    [variant] = comparison.variants.values()
    base = comparison.base.summary
    assert len(base) > 0 and variant.summary["value"].equals(base["value"])
    assert (comparison.table["diff"].dropna() == 0).all()
    assert any("parameter uncertainty: on (100 draws" in n for n in comparison.notes)
    off = scenario.run(4, seed=3, jobs=1).summary
    assert not base.equals(off)  # the draws were applied


def test_identical_bytes_on_one_or_two_workers(fitted_file, tmp_path) -> None:
    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"j{jobs}"
        result = _run_cli("run", fitted_file, "-n", 4, "--seed", 9, "-j", jobs,
                          "--parameter-uncertainty", "on", "-o", out, "-q")
        assert result.exit_code == 0, result.output
        outs.append(out)
    for name in ("kpis.csv", "summary.csv", "series.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    manifests = [json.loads((o / "manifest.json").read_text()) for o in outs]
    assert manifests[0]["parameter_uncertainty"] == manifests[1]["parameter_uncertainty"]


def test_the_run_folder_reproduces_itself(fitted_file, tmp_path) -> None:
    """The folder holds the draws beside its copy of the scenario: running the copy with the
    same seed gives the same results."""
    first, second = tmp_path / "first", tmp_path / "second"
    args = ["-n", 3, "--seed", 4, "-j", 1, "--parameter-uncertainty", "on", "-q"]
    assert _run_cli("run", fitted_file, *args, "-o", first).exit_code == 0
    assert (first / "fitted.draws.json").read_bytes() == draws_path(fitted_file).read_bytes()
    result = _run_cli("run", first / "scenario.toml", *args, "-o", second)
    assert result.exit_code == 0, result.output
    assert (first / "kpis.csv").read_bytes() == (second / "kpis.csv").read_bytes()


def test_the_cli_table_says_so(fitted_file) -> None:
    result = _run_cli("run", fitted_file, "-n", 2, "-j", 1, "--parameter-uncertainty", "on")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(
        "parameter uncertainty: on (100 draws from fitted.draws.json)")
    off = _run_cli("run", fitted_file, "-n", 2, "-j", 1)
    assert "parameter uncertainty" not in off.stdout


# -- errors -------------------------------------------------------------------------------------

def test_on_without_draws_says_to_refit() -> None:
    result = _run_cli("run", DATA.parent.parent / "scenarios" / "saas_sales_led.toml", "-n", 2,
                      "--parameter-uncertainty", "on")
    assert_input_error(result, "saas_sales_led.toml", "names no parameter draws",
                       "revsim fit --bootstrap N")


def test_a_missing_draws_file(fitted_file, tmp_path) -> None:
    path = _copy(fitted_file, tmp_path / "missing")
    draws_path(path).unlink()
    result = _run_cli("run", path, "-n", 2, "--parameter-uncertainty", "on")
    assert_input_error(result, "'fitted.draws.json' does not exist", str(draws_path(path)),
                       "revsim fit --bootstrap N")
    # off, the draws are not read
    assert _run_cli("run", path, "-n", 2, "-j", 1, "-q").exit_code == 0
    assert_input_error(_run_cli("validate", path), "does not exist")


def test_a_changed_draws_file_fails_its_checksum(fitted_file, tmp_path) -> None:
    path = _copy(fitted_file, tmp_path / "changed")
    data = draws_path(path).read_text(encoding="utf-8")
    draws_path(path).write_text(data.replace('"lost":0.', '"lost":1.', 1), encoding="utf-8")
    result = _run_cli("run", path, "-n", 2, "--parameter-uncertainty", "on")
    assert_input_error(result, str(draws_path(path)), "SHA-256", "belong to another fit")


def _rewrite(path: Path, body: dict | str) -> None:
    """Replace the draws file and state its new checksum in the scenario (so that the file's
    shape, not its checksum, is what is checked)."""
    import hashlib

    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    draws_path(path).write_bytes(data)
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'sha256 = "[0-9a-f]+"',
                           f'sha256 = "{hashlib.sha256(data).hexdigest()}"', text),
                    encoding="utf-8")


def test_draws_of_the_wrong_shape(fitted_file, tmp_path) -> None:
    path = _copy(fitted_file, tmp_path / "shape")
    body = json.loads(draws_path(path).read_text(encoding="utf-8"))
    body["draws"][2] = body["draws"][2][:-1]
    body["draws"][5] = "nothing"
    body["parameters"][0] = "sources.nowhere.rate"
    _rewrite(path, body)
    result = _run_cli("run", path, "-n", 2, "--parameter-uncertainty", "on")
    assert_input_error(result, str(draws_path(path)), "draws 2, 5 do not hold one value per "
                       "parameter (4)", "'sources.nowhere.rate' is not a value of the scenario")
    assert "2 problems found" in result.stderr


def test_not_a_draws_file(fitted_file, tmp_path) -> None:
    path = _copy(fitted_file, tmp_path / "json")
    _rewrite(path, "{not json")
    assert_input_error(_run_cli("run", path, "--parameter-uncertainty", "on"),
                       str(draws_path(path)), "invalid JSON")
    _rewrite(path, {"format": "something else"})
    assert_input_error(_run_cli("run", path, "--parameter-uncertainty", "on"),
                       "not a parameter draws file")


def test_batch_means_need_replications(fitted_file) -> None:
    result = _run_cli("run", fitted_file, "--batch-means", 4, "--parameter-uncertainty", "on")
    assert_input_error(result, "batch means make one long run")


def test_a_bad_reference(fitted_file, tmp_path) -> None:
    path = _copy(fitted_file, tmp_path / "ref")
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'sha256 = "[0-9a-f]+"', 'sha256 = "abc"', text), encoding="utf-8")
    assert_input_error(_run_cli("validate", path), "parameter_draws.sha256")


def test_the_option_takes_on_or_off(fitted_file) -> None:
    result = _run_cli("run", fitted_file, "--parameter-uncertainty", "maybe")
    assert result.exit_code == 2 and "'maybe' is not one of 'on', 'off'" in result.stderr
