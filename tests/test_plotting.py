"""Plots: each draws what its input holds, on the Axes it is given, with labelled units."""
# ruff: noqa: E402  (the Agg backend is chosen before anything imports pyplot)

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer, ErrorbarContainer

import revsim
from revsim import plotting
from revsim.plotting import duration_formatter, money_formatter

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- inputs -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run() -> revsim.RunResult:
    return revsim.load(REPO / "scenarios" / "saas_sales_led.toml").run(
        replications=5, seed=1, jobs=2, horizon="40 w", warmup="8 w")


@pytest.fixture(scope="module")
def kpis(run: revsim.RunResult) -> pd.DataFrame:
    return run.kpis


@pytest.fixture(scope="module")
def series(run: revsim.RunResult) -> pd.DataFrame:
    return run.series


@pytest.fixture(scope="module")
def cycle_times(run: revsim.RunResult) -> np.ndarray:
    parts = [r.extra.get("cycle_times_d") for r in run.replications]
    if any(p is None for p in parts):
        return np.random.default_rng(3).lognormal(np.log(60), 0.4, 800)
    return np.concatenate([np.asarray(p, dtype=float) for p in parts])


@pytest.fixture(scope="module")
def marginal() -> pd.DataFrame:
    diff = np.array([4.1e5, 1.2e6, -2e4, 9e4])
    half = np.array([2e5, 3e5, 5e4, 1.5e5])
    return pd.DataFrame({
        "pool": ["sdr", "ae", "onboarding", "customer_success"], "metric": "bookings",
        "scope": "total", "name": "", "unit": "USD", "base_mean": 1.2e7, "diff": diff,
        "ci_low": diff - half, "ci_high": diff + half, "half_width": half, "n": 5,
        "p_value": [0.001, 0.0001, 0.6, 0.2], "significant": [True, True, False, False],
        "rank": [2, 1, 4, 3], "cost_per_head": [9e4, 1.8e5, np.nan, 1.2e5],
        "roi": [3.1, 5.2, np.nan, 0.5], "payback_months": [3.2, 2.1, np.nan, 14.0],
    })


HEADLINE = [("won", "count", 193.0), ("bookings", "USD", 1.2e7), ("cash_collected", "USD", 4.7e6),
            ("cycle_time_median", "d", 65.0), ("time_to_first_touch_median", "h", 2.4)]


@pytest.fixture(scope="module")
def comparison() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for variant in ("hire_2_sdrs", "faster_legal"):
        for metric, unit, base in [*HEADLINE, ("wait_mean", "h", 14.0)]:
            diff = base * rng.normal(0, 0.08)
            half = base * 0.05
            rows.append({
                "variant": variant, "metric": metric, "scope": "total", "unit": unit,
                "name": "qualify" if metric == "wait_mean" else "", "base_mean": base,
                "variant_mean": base + diff, "diff": diff, "ci_low": diff - half,
                "ci_high": diff + half, "half_width": half, "n": 5, "p_value": 0.01,
                "p_adjusted": 0.02, "significant": abs(diff) > half})
    return pd.DataFrame(rows)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def stage_names(kpis: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(kpis.loc[kpis.scope == "stage", "name"]))


def bars(ax: Axes) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def whisker_count(ax: Axes) -> int:
    """How many CI whiskers (error-bar segments) the Axes has."""
    return sum(len(c.lines[2][0].get_segments()) for c in ax.containers
               if isinstance(c, ErrorbarContainer) and c.lines[2])


def tick_texts(ax: Axes, axis: str = "y") -> list[str]:
    ax.figure.canvas.draw()
    ticks = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in ticks if t.get_text()]


# -- formatters -------------------------------------------------------------------------------
@pytest.mark.parametrize(("currency", "value", "text"), [
    ("USD", 1_234_567, "$1.2M"), ("USD", 350_000, "$350k"), ("USD", 0, "$0"),
    ("USD", 1_250_000, "$1.25M"), ("USD", -2_500_000, "-$2.5M"), ("USD", 950, "$950"),
    ("EUR", 1_234_567, "€1.2M"), ("GBP", 40_000, "£40k"), ("CHF", 1_500_000, "CHF 1.5M"),
    ("USD", 3e9, "$3B"),
])
def test_money_formatter(currency: str, value: float, text: str) -> None:
    assert money_formatter(currency)(value, 0) == text


def test_money_formatter_signed() -> None:
    fmt = money_formatter("USD", signed=True)
    assert (fmt(350_000, 0), fmt(-20_000, 0), fmt(0, 0)) == ("+$350k", "-$20k", "$0")


@pytest.mark.parametrize(("unit", "value", "text"), [
    ("h", 36, "36 h"), ("d", 1.5, "1.5 d"), ("min", 45, "45 min"), ("d", 0, "0 d"),
    ("h", 2.25, "2.25 h"), ("w", 3, "3 w"), ("d", 1200, "1,200 d"),
])
def test_duration_formatter(unit: str, value: float, text: str) -> None:
    assert duration_formatter(unit)(value, 0) == text


def test_duration_formatter_rejects_unknown_unit() -> None:
    with pytest.raises(ValueError, match="unknown duration unit 'days'"):
        duration_formatter("days")


# -- every plot: returns an Axes, draws on the one given, labels with units --------------------
PLOTS: dict[str, Callable[..., Axes]] = {
    "funnel": lambda d, ax: plotting.plot_funnel(d["kpis"], ax=ax),
    "stage_time": lambda d, ax: plotting.plot_stage_time(d["kpis"], ax=ax),
    "utilisation": lambda d, ax: plotting.plot_utilisation(d["kpis"], ax=ax),
    "queue": lambda d, ax: plotting.plot_queue(d["series"], "qualify", ax=ax),
    "cycle_time": lambda d, ax: plotting.plot_cycle_time(d["cycle_times"], ax=ax),
    "cash_curve": lambda d, ax: plotting.plot_cash_curve(d["series"], "USD", ax=ax),
    "ar_aging": lambda d, ax: plotting.plot_ar_aging(d["kpis"], "USD", ax=ax),
    "tornado": lambda d, ax: plotting.plot_tornado(d["marginal"], ax=ax),
    "forest": lambda d, ax: plotting.plot_forest(d["comparison"], ax=ax),
}
# The label of the value axis names its unit in parentheses.
VALUE_AXIS_UNIT = {
    "funnel": ("x", "(count"), "stage_time": ("x", "(days"), "utilisation": ("x", "(%"),
    "queue": ("y", "(leads"), "cycle_time": ("x", "(days)"), "cash_curve": ("y", "(USD)"),
    "ar_aging": ("y", "(USD)"), "tornado": ("x", "(USD)"), "forest": ("x", "(% of base mean)"),
}


@pytest.fixture(scope="module")
def data(kpis: pd.DataFrame, series: pd.DataFrame, cycle_times: np.ndarray,
         marginal: pd.DataFrame, comparison: pd.DataFrame) -> dict[str, Any]:
    return {"kpis": kpis, "series": series, "cycle_times": cycle_times, "marginal": marginal,
            "comparison": comparison}


@pytest.mark.parametrize("name", list(PLOTS))
def test_plot_contract(name: str, data: dict[str, Any]) -> None:
    own = PLOTS[name](data, None)
    assert isinstance(own, Axes)
    _fig, given = plt.subplots()
    assert PLOTS[name](data, given) is given
    assert len(given.figure.axes) == 1  # drew on the given Axes, made no other
    assert given.get_title(loc="left")
    assert given.get_xlabel() and given.get_ylabel()
    axis, unit = VALUE_AXIS_UNIT[name]
    assert unit in (given.get_xlabel() if axis == "x" else given.get_ylabel())


def test_pyplot_is_not_imported_with_the_module() -> None:
    code = ("import sys, revsim.plotting; "
            "sys.exit(1 if 'matplotlib.pyplot' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- what each plot draws ---------------------------------------------------------------------
def test_funnel_bars_whiskers_and_conversions(kpis: pd.DataFrame) -> None:
    stages = stage_names(kpis)
    ax = plotting.plot_funnel(kpis, log=False)
    (bar,) = bars(ax)
    assert len(bar) == len(stages) + 2
    assert whisker_count(ax) == len(stages) + 2
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["leads in", *stages, "deals won"]
    leads = kpis.query("scope == 'total' and metric == 'leads_in'")["mean"].iloc[0]
    assert bar[0].get_width() == pytest.approx(leads)
    conversions = [t.get_text() for t in ax.texts if t.get_text()[:1] in "↓↑"]
    assert len(conversions) == len(stages) + 1
    arrivals = kpis.query("scope == 'stage' and metric == 'arrivals'")["mean"].to_numpy()
    for text, share in zip(conversions[:2], [arrivals[0] / leads, arrivals[1] / arrivals[0]],
                           strict=True):
        # a stage with re-entries or a joining branch gets more than the bar above: "↑"
        assert text == f"{'↑' if share > 1 else '↓'} {100 * share:.0f}%"
    assert ax.get_xscale() == "linear"


def test_funnel_stage_subset_and_log_scale(kpis: pd.DataFrame) -> None:
    ax = plotting.plot_funnel(kpis, ["qualify", "demo", "negotiation"], log=True)
    assert len(bars(ax)[0]) == 5
    assert ax.get_xscale() == "log"
    assert "log scale" in ax.get_xlabel()
    with pytest.raises(ValueError, match="unknown stage.*'nope'"):
        plotting.plot_funnel(kpis, ["qualify", "nope"])


def test_funnel_reads_kpis_written_to_csv(kpis: pd.DataFrame, tmp_path: Path) -> None:
    kpis.to_csv(tmp_path / "kpis.csv", index=False)
    back = pd.read_csv(tmp_path / "kpis.csv")  # totals' empty names come back as NaN
    assert len(bars(plotting.plot_funnel(back))[0]) == len(stage_names(kpis)) + 2


def test_stage_time_stacks_wait_and_rest(kpis: pd.DataFrame) -> None:
    stages = stage_names(kpis)
    ax = plotting.plot_stage_time(kpis)
    waiting, rest = bars(ax)
    assert len(waiting) == len(rest) == len(stages)
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == [
        "waiting for staff", "work and delays"]
    assert whisker_count(ax) == len(stages)
    k = kpis.set_index(["scope", "metric", "name"])["mean"]
    i = stages.index("demo")
    total = k[("stage", "time_in_stage_mean", "demo")] / 24  # the axis is in days here
    assert waiting[i].get_width() == pytest.approx(k[("stage", "wait_mean", "demo")] / 24)
    assert waiting[i].get_width() + rest[i].get_width() == pytest.approx(total)
    assert all(t.endswith(" d") for t in tick_texts(ax, "x"))


def test_stage_time_switches_to_hours_for_short_stages(kpis: pd.DataFrame) -> None:
    # the simulated times depend on the run; set them so that every stage takes hours
    short = kpis.copy()
    stages = ["mql_review", "qualify", "prospect"]
    for metric in ("time_in_stage_mean", "wait_mean"):
        for hours, stage in zip((3.0, 12.0, 30.0), stages, strict=True):
            row = (short.scope == "stage") & (short.metric == metric) & (short.name == stage)
            value = hours / 2 if metric == "wait_mean" else hours
            short.loc[row, ["mean", "ci_low", "ci_high"]] = [value, value * 0.8, value * 1.2]
    ax = plotting.plot_stage_time(short, stages)
    assert "hours" in ax.get_xlabel()
    assert all(t.endswith(" h") for t in tick_texts(ax, "x"))


def test_utilisation_bars_and_reference_lines(kpis: pd.DataFrame) -> None:
    pools = list(kpis.loc[(kpis.scope == "pool") & (kpis.metric == "utilisation"), "name"])
    ax = plotting.plot_utilisation(kpis)
    assert len(bars(ax)[0]) == len(pools)
    assert whisker_count(ax) == len(pools)
    refs = {line.get_label(): line.get_xdata()[0] for line in ax.get_lines()
            if not line.get_label().startswith("_")}
    assert refs == {"85%: queues grow fast": 0.85, "100%: saturated": 1.0}
    assert "80%" in tick_texts(ax, "x")


def test_queue_mean_band_and_dates(series: pd.DataFrame) -> None:
    ax = plotting.plot_queue(series, "qualify")
    (line,) = ax.get_lines()
    sel = series[series.variable == "queue:qualify"]
    expected = sel.groupby("t_hours")["value"].mean().to_numpy()
    assert line.get_ydata() == pytest.approx(expected)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert bands and len(bands[0].get_paths()[0].vertices) > len(expected)
    assert "date" in ax.get_xlabel()
    assert "95% CI" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    with pytest.raises(ValueError, match="no queue for stage 'nope'"):
        plotting.plot_queue(series, "nope")


def test_cycle_time_histogram_lines(cycle_times: np.ndarray) -> None:
    ax = plotting.plot_cycle_time(cycle_times)
    (hist,) = bars(ax)
    assert sum(p.get_height() for p in hist) == len(cycle_times)
    median, p90 = (line.get_xdata()[0] for line in ax.get_lines())
    assert (median, p90) == pytest.approx(tuple(np.percentile(cycle_times, [50, 90])))
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "median" in legend and "p90" in legend
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_cycle_time(np.array([]))


def test_cycle_time_accepts_series() -> None:
    values = pd.Series(np.random.default_rng(1).lognormal(3.5, 0.5, 300))
    assert len(bars(plotting.plot_cycle_time(values))[0]) > 5


def test_cash_curve_lines_bands_and_money_ticks(series: pd.DataFrame) -> None:
    ax = plotting.plot_cash_curve(series, "EUR")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["bookings (cumulative)", "invoiced (cumulative)",
                      "cash collected (cumulative)"]
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 3
    ticks = tick_texts(ax, "y")
    assert ticks[0] == "€0" and any(t.endswith("M") for t in ticks)


def test_cash_curve_without_cash_model(series: pd.DataFrame) -> None:
    only = series[~series.variable.isin(["invoiced", "collected", "ar_outstanding"])]
    ax = plotting.plot_cash_curve(only)
    assert [line.get_label() for line in ax.get_lines()] == ["bookings (cumulative)"]
    with pytest.raises(ValueError, match="no 'bookings'"):
        plotting.plot_cash_curve(series[series.variable == "won"])


@pytest.mark.parametrize("kind", ["queue", "cash_curve"])
def test_the_warmup_is_greyed_out_when_given(series: pd.DataFrame, kind: str) -> None:
    import matplotlib.dates as mdates

    def draw(**kw):
        if kind == "queue":
            return plotting.plot_queue(series, "qualify", **kw)
        return plotting.plot_cash_curve(series, **kw)

    def spans(ax):
        return [p for p in ax.patches if p.get_label() == "warm-up (not in the KPIs)"]

    assert spans(draw()) == []
    ax = draw(warmup_hours=24 * 14)
    (span,) = spans(ax)
    start = pd.Timestamp(series.loc[series.t_hours == 0, "date"].iloc[0])
    left, right = (mdates.num2date(x).replace(tzinfo=None) for x in
                   (span.get_x(), span.get_x() + span.get_width()))
    assert (left, right) == (start, start + pd.Timedelta(days=14))
    assert "warm-up" in " ".join(t.get_text() for t in ax.get_legend().get_texts())


def test_ar_aging_buckets(kpis: pd.DataFrame) -> None:
    ax = plotting.plot_ar_aging(kpis, "GBP")
    (bar,) = bars(ax)
    assert len(bar) == 5 and whisker_count(ax) == 5
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "not yet due", "1–30 d", "31–60 d", "61–90 d", "over 90 d"]
    current = kpis.query("scope == 'cash' and metric == 'ar_current'")["mean"].iloc[0]
    assert bar[0].get_height() == pytest.approx(current)
    assert all(t.startswith("£") for t in tick_texts(ax, "y"))
    with pytest.raises(ValueError, match="no cash model"):
        plotting.plot_ar_aging(kpis[kpis.scope != "cash"])


def test_tornado_sorted_greyed_with_zero_line(marginal: pd.DataFrame) -> None:
    ax = plotting.plot_tornado(marginal, "bookings", "USD")
    (bar,) = bars(ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "+1 ae", "+1 sdr", "+1 customer_success", "+1 onboarding"]
    assert [p.get_width() for p in bar] == pytest.approx([1.2e6, 4.1e5, 9e4, -2e4])
    colours = [p.get_facecolor() for p in bar]
    assert colours[0] == colours[1] != colours[2] == colours[3]
    assert whisker_count(ax) == 4
    assert any(tuple(line.get_xdata()) == (0, 0) for line in ax.get_lines())
    assert "ROI +520%, payback 2.1 mo" in [t.get_text() for t in ax.texts]
    assert "+$1.2M" in [t.get_text() for t in ax.texts]
    with pytest.raises(ValueError, match="no rows for metric 'won'"):
        plotting.plot_tornado(marginal, "won")
    annual = plotting.plot_tornado(marginal.assign(per_year=True))
    assert "(USD per year)" in annual.get_xlabel()


def test_tornado_duration_metric(marginal: pd.DataFrame) -> None:
    waits = marginal.assign(metric="wait_mean", unit="h", diff=[-30.0, -5.0, 0.5, -60.0],
                            ci_low=[-40.0, -9.0, -1.0, -80.0], ci_high=[-20.0, -1.0, 2.0, -40.0])
    ax = plotting.plot_tornado(waits, "wait_mean")
    assert "(days)" in ax.get_xlabel()
    assert any(t.endswith(" d") for t in tick_texts(ax, "x"))


def points(ax: Axes) -> int:
    return sum(len(c.lines[0].get_xdata()) for c in ax.containers
               if isinstance(c, ErrorbarContainer))


def test_forest_headline_relative(comparison: pd.DataFrame) -> None:
    ax = plotting.plot_forest(comparison)
    assert points(ax) == 2 * len(HEADLINE) == whisker_count(ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "deals won" and labels[1:3] == ["hire_2_sdrs", "faster_legal"]
    assert len(labels) == 3 * len(HEADLINE)  # a header row per KPI
    row = comparison.query("variant == 'faster_legal' and metric == 'bookings'").iloc[0]
    xs = np.concatenate([c.lines[0].get_xdata() for c in ax.containers
                         if isinstance(c, ErrorbarContainer)])
    assert any(x == pytest.approx(row["diff"] / row["base_mean"]) for x in xs)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(legend) <= {"significant", "not significant"} and legend
    assert any(tuple(line.get_xdata()) == (0, 0) for line in ax.get_lines())


def test_forest_one_metric_absolute(comparison: pd.DataFrame) -> None:
    ax = plotting.plot_forest(comparison, "bookings")
    assert points(ax) == 2
    assert "(USD)" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["hire_2_sdrs", "faster_legal"]
    ax = plotting.plot_forest(comparison, "wait_mean")
    assert "(hours)" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "hire_2_sdrs · qualify", "faster_legal · qualify"]


def test_forest_highlights_significant(comparison: pd.DataFrame) -> None:
    flagged = comparison.assign(significant=comparison.metric == "won")
    ax = plotting.plot_forest(flagged)
    sig = next(c for c in ax.containers
               if isinstance(c, ErrorbarContainer) and c.get_label() == "significant")
    assert len(sig.lines[0].get_xdata()) == 2


# -- write_plots ------------------------------------------------------------------------------
def test_write_plots_writes_png_and_svg(data: dict[str, Any], tmp_path: Path) -> None:
    paths = plotting.write_plots(tmp_path / "plots", currency="USD", **data)
    names = {p.stem for p in paths}
    peak = data["series"].groupby("variable")["value"].max()
    busy = [s for s in stage_names(data["kpis"]) if peak[f"queue:{s}"] > 0]
    assert names == {"funnel", "stage_time", "utilisation", "cycle_time", "cash_curve",
                     "ar_aging", "tornado", "forest", *(f"queue_{s}" for s in busy[:8])}
    assert "queue_legal" not in names  # legal never queues in this scenario
    assert len(paths) == 2 * len(names)
    for path in paths:
        assert path.parent == tmp_path / "plots" and path.stat().st_size > 1000
        head = path.read_bytes()[:200]
        assert head.startswith(PNG_MAGIC) if path.suffix == ".png" else b"<svg" in head
    assert plt.get_fignums() == []
    assert not list((tmp_path / "plots").glob(".*"))  # no temporary files left


def test_write_plots_only_what_is_given(series: pd.DataFrame, tmp_path: Path) -> None:
    few = series[series.variable.isin(["queue:qualify", "queue:legal", "bookings"])]
    paths = plotting.write_plots(tmp_path, series=few, formats=("png",))
    assert [p.name for p in paths] == ["queue_qualify.png", "cash_curve.png"]
    assert plotting.write_plots(tmp_path / "none") == []
    with pytest.raises(ValueError, match="unsupported format"):
        plotting.write_plots(tmp_path, series=few, formats=("docx",))
