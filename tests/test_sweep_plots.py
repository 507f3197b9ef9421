"""Plots of a sweep: KPI vs a parameter, heatmap over two, Pareto front of cost vs objective."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from revsim.sweep import SweepResult  # noqa: E402
from revsim.sweep.plots import (  # noqa: E402
    plot_heatmap,
    plot_param,
    plot_pareto,
    write_sweep_plots,
)

SDR, AE = "pools.sdr.headcount", "pools.ae.headcount"
KPIS = (("won", "total", "count"), ("bookings", "total", "USD"),
        ("cash_collected", "cash", "USD"), ("dso", "cash", "d"))


def make_summary(sdr: tuple[int, ...] = (6, 7, 8), ae: tuple[int, ...] = (9, 11),
                 n: int = 5) -> pd.DataFrame:
    """A sweep summary over sdr x ae with simple known means (more heads: more won)."""
    rows = []
    for s, a in itertools.product(sdr, ae):
        pid = f"s{s}a{a}"
        cost = 95e3 * s + 180e3 * a
        for metric, scope, unit in KPIS:
            base = {"won": 10.0 * s + 3 * a, "bookings": 5e4 * s + 2e4 * a,
                    "cash_collected": 4e4 * s + 3e4 * a - 1e3 * s * a, "dso": 60.0 - s}[metric]
            half = 0.05 * base
            rows.append({"point": pid, "label": f"sdr.headcount={s}, ae.headcount={a}",
                         AE: a, SDR: s, "metric": metric, "scope": scope, "name": "",
                         "unit": unit, "mean": base, "ci_low": base - half,
                         "ci_high": base + half, "half_width": half, "n": n,
                         "staff_cost": cost})
    return pd.DataFrame(rows)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_param_one_line_per_combination_of_the_others() -> None:
    summary = make_summary()
    ax = plot_param(summary, "won", SDR)
    assert len(ax.get_lines()) == 2  # ae = 9 and ae = 11
    assert len(ax.collections) == 2  # their CI bands
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ae=9", "ae=11"]
    assert ax.get_xlabel() == "sdr headcount (heads)"
    assert ax.get_ylabel() == "deals won (count)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["6", "7", "8"]
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [6, 7, 8]
    assert list(line.get_ydata()) == [87, 97, 107]  # 10 sdr + 3 * 9
    assert "Deals won vs sdr" in ax.get_title(loc="left")


def test_plot_param_single_parameter_money_axis_and_given_axes() -> None:
    summary = make_summary(ae=(10,))
    fig, given = plt.subplots()
    ax = plot_param(summary, "bookings", SDR, ax=given)
    assert ax is given
    assert len(ax.get_lines()) == 1 and ax.get_legend() is None
    assert ax.get_ylabel() == "bookings (USD)"
    assert ax.yaxis.get_major_formatter()(5e5, 0) == "$500k"


def test_plot_param_picks_the_scope_of_a_cash_kpi_and_rejects_unknowns() -> None:
    summary = make_summary()
    ax = plot_param(summary, "cash_collected", AE)
    assert len(ax.get_lines()) == 3
    with pytest.raises(ValueError, match="no swept parameter 'pools.x.headcount'"):
        plot_param(summary, "won", "pools.x.headcount")
    with pytest.raises(ValueError, match="no KPI 'wonn'; did you mean won"):
        plot_param(summary, "wonn", SDR)


def test_plot_param_many_combinations_become_points() -> None:
    summary = make_summary(sdr=(6, 7), ae=tuple(range(1, 11)))
    ax = plot_param(summary, "won", SDR)
    assert len(ax.containers) == 1  # one errorbar of 20 points, not 10 lines
    assert len(ax.containers[0].lines[0].get_xdata()) == 20
    assert any("vary too" in t.get_text() for t in ax.texts)


def test_plot_heatmap_annotates_every_cell() -> None:
    summary = make_summary()
    ax = plot_heatmap(summary, "won", AE, SDR)
    cells = [t for t in ax.texts if "\n± " in t.get_text()]
    assert len(cells) == 6
    assert "87\n± 4.35" in {t.get_text() for t in cells}  # sdr 6, ae 9
    assert ax.get_xlabel() == "ae headcount (heads)"
    assert ax.get_ylabel() == "sdr headcount (heads)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["6", "7", "8"]
    image = ax.images[0].get_array()
    assert image.shape == (3, 2) and image[0, 0] == 87
    assert len(ax.figure.axes) == 2  # with its colour bar


def test_plot_heatmap_needs_other_parameters_fixed() -> None:
    summary = make_summary()
    summary["pools.onboarding.headcount"] = np.where(summary["point"].str.endswith("9"), 1, 2)
    summary.loc[summary["point"] == "s6a9", "pools.onboarding.headcount"] = 3
    with pytest.raises(ValueError, match="other parameters vary"):
        plot_heatmap(summary, "won", AE, "pools.onboarding.headcount")
    with pytest.raises(ValueError, match="different"):
        plot_heatmap(summary, "won", AE, AE)


def test_plot_pareto_highlights_the_front_and_labels_points() -> None:
    summary = make_summary()
    ax = plot_pareto(summary, "cash_collected")
    labels = {t.get_text() for t in ax.texts if "=" in t.get_text()}
    assert labels == {f"sdr={s}, ae={a}" for s in (6, 7, 8) for a in (9, 11)}
    front = ax.get_lines()[-1] if ax.get_lines()[-1].get_label().startswith("Pareto") else \
        next(line for line in ax.get_lines() if line.get_label().startswith("Pareto"))
    x = np.asarray(front.get_xdata(), dtype=float)
    assert np.all(np.diff(x) > 0)
    rows = summary[summary["metric"] == "cash_collected"]
    best = rows.loc[rows["mean"].idxmax()]
    assert x[-1] == best["staff_cost"]  # the best objective closes the front
    assert ax.get_xlabel() == "staff cost per year (USD)"
    assert ax.get_ylabel() == "cash collected (USD)"
    assert ax.xaxis.get_major_formatter()(2.4e6, 0) == "$2.4M"


def test_plot_pareto_against_a_kpi_and_minimised() -> None:
    summary = make_summary()
    ax = plot_pareto(summary, "dso", cost="won", minimize=True)
    assert "days" in ax.get_ylabel() and "deals won" in ax.get_xlabel()


def test_write_sweep_plots_writes_files(tmp_path: Path) -> None:
    summary = make_summary()
    result = SweepResult(None, tmp_path, pd.DataFrame(), summary, [AE, SDR])  # type: ignore[arg-type]
    paths = write_sweep_plots(result, tmp_path / "plots")
    names = {p.name for p in paths}
    expected = {f"{m}_vs_{p}.{ext}" for m in ("won", "bookings", "cash_collected")
                for p in ("ae", "sdr") for ext in ("png", "svg")}
    expected |= {f"cash_collected_heatmap_ae_sdr.{e}" for e in ("png", "svg")}
    expected |= {f"cash_collected_pareto_staff_cost.{e}" for e in ("png", "svg")}
    assert names == expected
    assert all(p.stat().st_size > 1000 for p in paths)
    assert plt.get_fignums() == []  # every figure closed
    # the SweepResult methods draw the same plots
    assert result.plot_heatmap("won").images
    assert result.plot_pareto().get_lines()
