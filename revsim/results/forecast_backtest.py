"""What a rolling-origin backtest of the forecast returns: the scores of each method at each
horizon (revsim.analysis.forecast_scores), every origin's forecasts beside what happened, and
the plots of forecast vs actual."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from revsim.analysis.forecast_scores import NOMINAL_COVERAGE
from revsim.io import output_set, write_csv
from revsim.kpi_registry import display_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: in the order the table shows them
METHODS = ("simulation", "empty_start", "weighted_pipeline", "run_rate")
METHOD_TEXT = {"simulation": "revsim, from the state", "empty_start": "revsim, empty start",
               "weighted_pipeline": "weighted pipeline", "run_rate": "run rate"}
FILES = ("forecast_backtest.csv", "forecast_backtest_origins.csv")
MANIFEST = "forecast_backtest_manifest.json"
EXPLAIN = ("Each origin: fitted on the log before it, forecast from the state at it, judged "
           "against the log after it. Horizon k = summed from the origin to the end of the k-th "
           "period. Point forecast: revsim's P50. MAPE over origins whose actual is not 0 "
           "[95% CI] (n); WAPE = sum |error| / sum |actual|; bias = sum error / sum |actual| "
           "(> 0: too high); coverage = share of origins inside revsim's P10-P90 (about 80% "
           "if the range is calibrated) [95% Wilson CI] (n).")


def _pct(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


@dataclass
class ForecastBacktest:
    """``scores``: one row per (figure, horizon, method); ``detail``: one row per (origin,
    figure, horizon, method) with the actual, the point forecast, and revsim's mean, P10 and
    P90; ``notes``: origins left out and what the state builder decided."""

    scores: pd.DataFrame
    detail: pd.DataFrame
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def origins(self) -> list[str]:
        return sorted({f"{t:%Y-%m-%d}" for t in pd.to_datetime(self.detail["origin"])})

    def best(self, figure: str, horizon: int) -> str | None:
        """The method with the lowest WAPE for ``figure`` at ``horizon``."""
        rows = self.scores[(self.scores["figure"] == figure)
                           & (self.scores["horizon"] == horizon)].dropna(subset=["wape"])
        return None if rows.empty else str(rows.sort_values("wape").iloc[0]["method"])

    def format(self) -> str:
        """The terminal table: per figure, each horizon's scores by method."""
        m = self.manifest
        lines = [f"Forecast backtest: {m['log']}; {len(self.origins)} origins "
                 f"({', '.join(self.origins[:3])}{', ...' if len(self.origins) > 3 else ''}), "
                 f"horizon {m['horizon']} by {m['by']}; {m['replications']} replications per "
                 f"forecast, seed {m['seed']}.", EXPLAIN]
        lines += [f"note: {note}" for note in self.notes]
        for figure, part in self.scores.groupby("figure", sort=False):
            lines += ["", f"{display_label(str(figure))} (summed to each horizon)"]
            lines.append(f"  {'horizon':<8} {'method':<24} {'MAPE [95% CI]':>22} {'n':>3} "
                         f"{'WAPE':>6} {'bias':>6} {'P10-P90 coverage [95% CI]':>28}")
            for _, r in part.iterrows():
                mape = (f"{_pct(r['mape'])} [{_pct(r['mape_ci_low'])}, "
                        f"{_pct(r['mape_ci_high'])}]" if r["mape_n"] else "—")
                coverage = (f"{_pct(r['coverage'])} [{_pct(r['coverage_ci_low'])}, "
                            f"{_pct(r['coverage_ci_high'])}] n={r['coverage_n']}"
                            if r["coverage_n"] else "no range")
                bias = "—" if math.isnan(r["bias"]) else f"{r['bias']:+.0%}"
                lines.append(f"  {r['horizon']:<8} {METHOD_TEXT[r['method']]:<24} {mape:>22} "
                             f"{r['mape_n']:>3} {_pct(r['wape']):>6} {bias:>6} {coverage:>28}")
        lines += ["", self._verdict()]
        return "\n".join(lines)

    def _verdict(self) -> str:
        """One sentence per figure at the longest horizon: who was closest, and whether
        revsim's range held the actual about as often as it says."""
        longest = int(self.scores["horizon"].max())
        said = []
        for figure in dict.fromkeys(self.scores["figure"]):
            best = self.best(figure, longest)
            sim = self.scores[(self.scores["figure"] == figure)
                              & (self.scores["horizon"] == longest)
                              & (self.scores["method"] == "simulation")]
            cover = ""
            if not sim.empty and sim.iloc[0]["coverage_n"]:
                r = sim.iloc[0]
                held = r["coverage_ci_low"] <= NOMINAL_COVERAGE <= r["coverage_ci_high"]
                cover = (f"; revsim's P10-P90 held the actual {_pct(r['coverage'])} of the time"
                         f" ({'consistent with' if held else 'not'} 80%"
                         f"{'' if held else ', the range is mis-sized'})")
            if best:
                said.append(f"{display_label(figure)} at horizon {longest}: lowest WAPE "
                            f"{METHOD_TEXT[best]}{cover}.")
        return "\n".join(said)

    def __repr__(self) -> str:
        return (f"<ForecastBacktest {self.manifest['log']!r}: {len(self.origins)} origins, "
                f"horizon {self.manifest['horizon']}>")

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.format())}</pre>"

    def plot(self, figure: str = "bookings", horizon: int | None = None, *,
             ax: Axes | None = None) -> Axes:
        """Forecast vs actual at each origin (see revsim.plotting.plot_backtest); ``horizon``
        defaults to the longest."""
        from revsim.plotting import plot_backtest  # lazy: matplotlib is slow to import

        h = int(self.detail["horizon"].max()) if horizon is None else horizon
        return plot_backtest(self.detail, figure, h, currency=self.manifest.get("currency",
                                                                                  "USD"), ax=ax)

    def write_plots(self, out: str | Path, formats: tuple[str, ...] = ("png", "svg")
                    ) -> list[Path]:
        """Forecast vs actual for every figure, at the longest horizon, in ``out``."""
        from revsim.plotting import write_figures  # lazy: matplotlib is slow to import

        jobs = [(f"backtest_{figure}", partial(self.plot, str(figure)))
                for figure in dict.fromkeys(self.detail["figure"])]
        return write_figures(Path(out), jobs, formats)

    def to_dir(self, out: str | Path) -> list[Path]:
        """Write forecast_backtest.csv (the scores), forecast_backtest_origins.csv (every
        origin) and forecast_backtest_manifest.json into ``out``, as a whole."""
        with output_set(out, MANIFEST, FILES) as staged:
            write_csv(self.scores, staged.path("forecast_backtest.csv"))
            detail = self.detail.assign(origin=pd.to_datetime(self.detail["origin"])
                                        .dt.strftime("%Y-%m-%d"))
            write_csv(detail, staged.path("forecast_backtest_origins.csv"))
            return staged.commit({**self.manifest, "notes": self.notes, "explain": EXPLAIN})


__all__ = ["METHODS", "ForecastBacktest"]
