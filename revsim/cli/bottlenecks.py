"""``revsim bottlenecks``: the bottleneck of a scenario, and the value of one more head."""

from __future__ import annotations

import click

from revsim.cli.exits import handles_errors
from revsim.cli.options import (
    apply_options,
    out_dir_opt,
    plots_opt,
    raw_csv_opt,
    replication_options,
    set_opt,
    state_options,
)
from revsim.cli.output import write_outputs
from revsim.cli.scenario_input import load_scenario, warn
from revsim.cli.terminal import echo


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@apply_options(replication_options)
@apply_options(state_options)
@click.option("--marginal/--no-marginal", default=True, show_default=True,
              help="Rerun with +1 head in each pool to value extra capacity.")
@click.option("--ramped", is_flag=True,
              help="Value a hire on the first day of the window who ramps up like the pool's "
              "hires ([pools.X.ramp]), instead of +1 head at full productivity from the start.")
@out_dir_opt
@plots_opt
@raw_csv_opt
@set_opt
@handles_errors
def bottlenecks(scenario: str, replications: int, seed: int, horizon: str | None,
                warmup: str | None, jobs: int, scheduler: str | None, dask_local: int | None,
                dask_dashboard: bool, progress: bool | None, state: str | None,
                until: str | None, force_warmup: bool, marginal: bool, ramped: bool,
                out: str | None,
                plots: str | None, overrides: tuple[str, ...]) -> None:
    """Find the bottleneck of SCENARIO and value one more head in each pool."""
    sc = load_scenario(scenario, overrides)
    warn(sc)
    report = sc.bottlenecks(replications=replications, seed=seed, horizon=horizon,
                            warmup=warmup, jobs=jobs, scheduler=scheduler,
                            dask_local=dask_local, dask_dashboard=dask_dashboard,
                            progress=progress, marginal=marginal, ramped=ramped, state=state,
                            until=until, force_warmup=force_warmup)
    echo(report.format())
    write_outputs(report, out, plots)
