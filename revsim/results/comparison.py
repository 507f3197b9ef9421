"""What-if comparisons: a base scenario against variants, paired by replication."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from revsim.analysis.paired import adjust_across_variants, paired_differences
from revsim.io import output_set, write_csv
from revsim.kpi_registry import format_signed, format_value, label, verdict, view
from revsim.results.run_result import RunResult
from revsim.table import replications_text, too_few_replications

#: The forecast figures a comparison shows per period in the terminal (all are in ``periods``).
PERIOD_HEADLINE = ("total_bookings", "won", "cash_collected", "ar_outstanding")
# What a comparison writes beside a run (its manifest lists them; an older revsim's manifest
# without a list owns these names).
COMPARISON_FILES = ("comparison.csv", "kpis_base.csv", "kpis_variant*.csv",
                    "comparison_periods.csv")

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class Comparison:
    """KPI differences of each variant against the base, with paired 95% CIs.

    ``table`` has one row per variant x KPI: variant, metric, scope, name, unit, base_mean,
    variant_mean, diff, ci_low, ci_high, half_width, n, p_value, p_adjusted (Holm across the
    variants, per KPI) and significant (p_adjusted < 0.05). ``periods`` has the same columns
    for the forecast figures of each period (scope "period", name = the period's label) when
    the runs started from a state with periods; else it is empty.
    """

    base: RunResult
    variants: dict[str, RunResult]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def build(cls, base: RunResult, variants: dict[str, RunResult], notes: list[str],
              confidence: float = 0.95) -> Comparison:
        tables = []
        for of in ("summary", "periods"):
            frames = []
            for name, result in variants.items():
                if getattr(base, of).empty:
                    continue
                diffs = paired_differences(getattr(base, of), getattr(result, of), confidence)
                diffs.insert(0, "variant", name)
                frames.append(diffs)
            tables.append(adjust_across_variants(pd.concat(frames, ignore_index=True))
                          if frames else pd.DataFrame())
        return cls(base, variants, tables[0], notes, tables[1])

    def headline(self) -> pd.DataFrame:
        """The rows of the headline KPIs only."""
        keys = pd.DataFrame([(m, s, "") for m, s in view("compare")],
                            columns=["metric", "scope", "name"])
        return self.table.merge(keys, on=["metric", "scope", "name"])

    def verdicts(self) -> pd.DataFrame:
        """The headline rows with a ``verdict`` column: "better" or "worse" by each KPI's
        registered direction when the difference is significant, "changed" for a neutral KPI,
        else "no significant change"."""
        head = self.headline()
        return head.assign(verdict=[verdict(m, d, bool(s)) for m, d, s in
                                    zip(head["metric"], head["diff"], head["significant"],
                                        strict=True)])

    def format(self) -> str:
        """A terminal table of headline KPI differences, one block per variant."""
        cur = self.base.model.currency
        n = self.base.manifest.get("replications")
        lines = [
            f"Compared with {self.base.model.name}: {replications_text(n, 'paired')} "
            f"(common random numbers), seed {self.base.manifest.get('seed')}, window "
            f"{self.base.manifest.get('window', '')}.",
            "diff = variant - base, mean [95% CI]; * = significant after Holm's correction "
            f"across {len(self.variants)} variant{'s' if len(self.variants) != 1 else ''}; "
            "better/worse: which way a significant change goes, by the KPI's direction.",
            *too_few_replications(n),
        ]
        head = self.headline()
        for variant, g in head.groupby("variant", sort=False):
            lines += ["", f"{variant}"]
            for _, r in g.iterrows():
                if math.isnan(r["diff"]):
                    continue
                unit = r["unit"]
                diff = format_signed(r["diff"], unit, cur)
                ci = (f"[{format_signed(r['ci_low'], unit, cur)}, {format_signed(r['ci_high'], unit, cur)}]"
                      if not math.isnan(r["ci_low"]) else "[-]")
                significant = bool(r["significant"])
                mark = "*" if significant else " "
                # which way a significant change goes, by the KPI's registered direction
                judged = verdict(r["metric"], r["diff"], True) if significant else ""
                lines.append((
                    f"  {r['metric']:<28} {format_value(r['base_mean'], unit, cur):>11} -> "
                    f"{format_value(r['variant_mean'], unit, cur):>11}  {diff:>11} {ci:<26} "
                    f"{mark} p={r['p_adjusted']:.3g}  {judged}").rstrip()
                )
        lines += self._format_periods()
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _format_periods(self) -> list[str]:
        """Per period, the paired difference of the headline forecast figures."""
        if self.periods.empty:
            return []
        cur = self.base.model.currency
        lines = ["", "Per period (diff = variant - base, mean [95% CI]; * = significant)"]
        shown = [m for m in PERIOD_HEADLINE if m in set(self.periods["metric"])]
        for variant, g in self.periods.groupby("variant", sort=False):
            lines.append(f"{variant}")
            for metric in shown:
                lines.append(f"  {label(metric)}")
                for _, r in g[g["metric"] == metric].iterrows():
                    unit = r["unit"]
                    ci = (f"[{format_signed(r['ci_low'], unit, cur)}, "
                          f"{format_signed(r['ci_high'], unit, cur)}]"
                          if not math.isnan(r["ci_low"]) else "[-]")
                    lines.append(f"    {r['name']:<10} {format_signed(r['diff'], unit, cur):>11} "
                                 f"{ci:<26} {'*' if r['significant'] else ' '}".rstrip())
        return lines

    def plot_forest(self, metric: str | None = None, ax: Axes | None = None) -> Axes:
        """Forest plot of the differences (see revsim.plotting.plot_forest)."""
        from revsim.plotting import plot_forest  # lazy: matplotlib is slow to import

        return plot_forest(self.table, metric=metric, ax=ax)

    def write_plots(self, out: str | Path) -> list[Path]:
        """The forest plot of the differences plus the base run's plots (PNG and SVG)."""
        return self.base.write_plots(out, comparison=self.table)

    def to_dir(self, out: str | Path) -> list[Path]:
        """Write comparison.csv (the full table), each run's KPI table (+ comparison_periods.csv
        for a comparison from a state with periods) and comparison_manifest.json, replacing the
        previous comparison's files in ``out`` as a whole (see :func:`revsim.io.output_set`)."""
        with output_set(out, "comparison_manifest.json", COMPARISON_FILES) as staged:
            write_csv(self.table, staged.path("comparison.csv"))
            write_csv(self.base.kpis, staged.path("kpis_base.csv"))
            for i, (name, result) in enumerate(self.variants.items(), start=1):
                write_csv(result.kpis.assign(variant=name), staged.path(f"kpis_variant{i}.csv"))
            if not self.periods.empty:
                write_csv(self.periods, staged.path("comparison_periods.csv"))
            return staged.commit({**self.base.manifest, "variants": list(self.variants),
                                  "notes": self.notes})


__all__ = ["Comparison"]
