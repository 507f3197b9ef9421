"""``revsim forecast``: what will be booked and collected each period, from today's state."""

from __future__ import annotations

import click

from revsim.cli.exits import echo_err, handles_errors
from revsim.cli.options import (
    apply_options,
    executor_options,
    forecast_uncertainty_opt,
    out_dir_opt,
    plots_opt,
    seed_opt,
    set_opt,
)
from revsim.cli.scenario_input import load_scenario, warn
from revsim.cli.terminal import echo


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--state", required=True, metavar="FOLDER",
              help="The snapshot of the business to start from (open deals, open invoices, "
              "live contracts, as of a date).")
@click.option("--until", required=True, metavar="DATE",
              help="The last day of the forecast, e.g. 2027-03-31.")
@click.option("--by", type=click.Choice(["week", "month", "quarter"]), default="month",
              show_default=True, help="Calendar periods, aligned to the calendar from the "
              "as-of date (the first and last may be partial).")
@click.option("--target", "targets", multiple=True, metavar="FIGURE=AMOUNT[/period]",
              help="P(target met) with its 95% Wilson CI, cumulative from the as-of date "
              "(or per period with /period), e.g. total_bookings=2.5M (repeatable).")
@click.option("-n", "--replications", type=click.IntRange(min=2), default=100,
              show_default=True, help="Replications: the outcome range P10..P90 is read over them.")
@apply_options([seed_opt, *executor_options])
@forecast_uncertainty_opt
@out_dir_opt
@plots_opt
@set_opt
@click.option("--quiet", "-q", is_flag=True, help="Do not print the forecast table.")
@handles_errors
def forecast(scenario: str, state: str, until: str, by: str, targets: tuple[str, ...],
             replications: int, seed: int, jobs: int, scheduler: str | None,
             dask_local: int | None, dask_dashboard: bool, progress: bool | None, out: str | None,
             parameter_uncertainty: bool | str | None, plots: str | None, overrides: tuple[str, ...],
             quiet: bool) -> None:
    """Forecast bookings and cash per period from a STATE of open deals and invoices.

    Every figure of every period gets the mean with the 95% CI of the mean (how well the
    replications pin down the expected value) and P10/P50/P90 of the outcome (the range the
    one future that happens falls in, 8 times in 10 between P10 and P90). Bookings are split
    into the open pipeline, new leads and renewals; cash into open AR and new invoices.
    """
    sc = load_scenario(scenario, overrides)
    result = sc.forecast(state, until, by, targets=targets, replications=replications,
                         seed=seed, jobs=jobs, scheduler=scheduler, dask_local=dask_local,
                         dask_dashboard=dask_dashboard, progress=progress,
                         parameter_uncertainty=parameter_uncertainty)
    warn(sc)
    if not quiet:
        echo(result.format())
    if out:
        written = result.to_dir(out)
        echo_err(f"wrote {len(written)} files to {out}")
    if plots:
        paths = result.write_plots(plots)
        echo_err(f"wrote {len(paths)} plot files to {plots}")
