"""``revsim optimize``: a sweep, then its best point under a budget."""

from __future__ import annotations

import click

from revsim.cli.exits import handles_errors
from revsim.cli.options import (
    FiniteFloatRange,
    apply_options,
    sweep_options,
    sweep_run_options,
)
from revsim.cli.sweep import exit_if_failed, report_sweep, run_sweep_command, write_plots
from revsim.cli.terminal import echo
from revsim.kpi_registry import SCOPES
from revsim.sweep.budget import parse_budget
from revsim.sweep.kpi_tables import check_metric_name
from revsim.sweep.optimize import optimize as select


@click.command()
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("sweep_file", required=False, type=click.Path(dir_okay=False))
@click.option("--objective", required=True, metavar="METRIC",
              help="KPI to optimise, e.g. cash_collected (SCOPE:NAME:METRIC for a stage or "
              "pool KPI, e.g. pool:sdr:utilisation).")
@click.option("--scope", type=click.Choice(SCOPES),
              help="The objective's scope when its name is ambiguous.")
@click.option("--budget", metavar="EXPR",
              help="Constraint, e.g. \"staff_cost <= 2.4M\" (per year) or \"dso <= 45 d\" "
              "(a KPI is held to its mean).")
@click.option("--minimize", is_flag=True, help="Lower is better (e.g. cycle_time_median).")
@click.option("--confidence", type=FiniteFloatRange(0.5, 1, max_open=True),
              default=0.95,
              show_default=True, help="Confidence of the comparisons with the best point.")
@apply_options(sweep_options)
@apply_options(sweep_run_options)
@handles_errors
def optimize(base: str, sweep_file: str | None, objective: str, scope: str | None,
             budget: str | None, minimize: bool, confidence: float, params: tuple[str, ...],
             design: str | None, points: int | None, scheduler: str | None,
             dask_local: int | None, dask_dashboard: bool, out: str, resume: bool, csv: bool,
             replications: int | None, seed: int | None, horizon: str | None,
             warmup: str | None, jobs: int, plots: str | None, progress: bool | None) -> None:
    """Run (or resume) a sweep of BASE into -o and pick its best point under --budget.

    The best point is compared with every other feasible one by paired differences over
    replications (common random numbers, Bonferroni); points it cannot be told apart from are
    listed. Finished tasks in -o are reused (--resume is implied), so asking again with another
    objective or budget costs nothing.
    """
    check_metric_name(objective)  # before running anything
    parsed = parse_budget(budget) if budget else None
    result = run_sweep_command(base, sweep_file, params, design, points, replications, seed,
                               horizon, warmup, jobs, scheduler, dask_local, out, True,
                               progress, dask_dashboard)
    report_sweep(result, csv)
    selection = select(result, objective, scope=scope, budget=parsed, minimize=minimize,
                       confidence=confidence)
    echo(selection.format())
    write_plots(result, plots)
    exit_if_failed(result)
