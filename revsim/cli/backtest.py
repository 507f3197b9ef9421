"""``revsim backtest``: a scenario simulated over an event log's period, against the log."""

from __future__ import annotations

from pathlib import Path

import click

from revsim.calibrate.backtest import backtest as run_backtest
from revsim.calibrate.backtest import format_backtest
from revsim.calibrate.fit_log import read_log
from revsim.cli.exits import echo_err, handles_errors
from revsim.cli.options import (
    apply_options,
    as_of_opt,
    encoding_opt,
    executor_options,
    format_opt,
    mapping_opt,
    raw_csv_opt,
    replications_opt,
    seed_opt,
)
from revsim.cli.output import OUT_FILE
from revsim.cli.scenario_input import load_scenario
from revsim.cli.terminal import echo
from revsim.io import write_csv


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("log", type=click.Path(dir_okay=False))
@format_opt
@mapping_opt
@as_of_opt
@encoding_opt
@replications_opt
@seed_opt
@apply_options(executor_options)
@click.option("-o", "--out", type=OUT_FILE, help="Write the table as CSV.")
@raw_csv_opt
@handles_errors
def backtest(scenario: str, log: str, log_format: str, mapping: str | None, as_of: str | None,
             encoding: str | None, replications: int, seed: int, jobs: int,
             scheduler: str | None, dask_local: int | None, dask_dashboard: bool,
             progress: bool | None,
             out: str | None) -> None:
    """Simulate SCENARIO over LOG's period and compare its KPIs with the log's."""
    sc = load_scenario(scenario)
    event_log = read_log(log, mapping=mapping, as_of=as_of, format=log_format,
                         encoding=encoding)
    echo_err(event_log.describe())
    for warning in event_log.warnings:
        echo_err(f"warning: {warning}")
    table = run_backtest(sc, event_log, replications=replications, seed=seed, jobs=jobs,
                         scheduler=scheduler, dask_local=dask_local,
                         dask_dashboard=dask_dashboard, progress=progress)
    echo(format_backtest(table))
    if out:
        write_csv(table, Path(out))
        echo_err(f"wrote {out}")
