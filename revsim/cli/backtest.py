"""``revsim backtest``: a scenario simulated over an event log's period, against the log; or,
with ``--forecast``, a rolling-origin backtest of the forecast itself."""

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
    date_format_opt,
    encoding_opt,
    executor_options,
    format_opt,
    mapping_opt,
    raw_csv_opt,
    replications_opt,
    seed_opt,
)
from revsim.cli.output import OUT_DIR, OutputPath
from revsim.cli.scenario_input import load_scenario
from revsim.cli.terminal import echo
from revsim.io import write_csv
from revsim.rolling_origin import backtest_forecast

FORECAST_REPLICATIONS = 40  # per forecast, when -n is not given: P10 and P90 need a few dozen


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="[SCENARIO] LOG",
                type=click.Path(dir_okay=False))
@format_opt
@mapping_opt
@as_of_opt
@encoding_opt
@date_format_opt
@replications_opt
@seed_opt
@apply_options(executor_options)
@click.option("--forecast", "forecast", is_flag=True, is_eager=True,
              help="Backtest the forecast on LOG (no SCENARIO): at each origin, fit on the log "
              "before it, build the state at it, forecast, and compare with what happened.")
@click.option("--origins", default="monthly", show_default=True, metavar="EVERY|DATES",
              help="With --forecast: weekly, monthly, quarterly, or ISO dates (comma-separated).")
@click.option("--horizon", default="3m", show_default=True, metavar="N{w,m,q}",
              help="With --forecast: how far ahead, in weeks, months or quarters (13w, 3m, 1q); "
              "also the periods the forecast is judged by.")
@click.option("--min-history", "min_history", type=click.FloatRange(min=7), default=90,
              show_default=True, metavar="DAYS",
              help="With --forecast: days of log an origin needs before it to fit on.")
@click.option("--plots", type=OUT_DIR,
              help="With --forecast: write forecast-vs-actual plots (PNG and SVG) here.")
@click.option("-o", "--out", type=OutputPath(folder=False, folder_with="forecast"),
              help="Write the table as CSV (with --forecast: a folder of tables).")
@raw_csv_opt
@handles_errors
@click.pass_context
def backtest(ctx: click.Context, inputs: tuple[str, ...], log_format: str, mapping: str | None,
             as_of: str | None, encoding: str | None, date_format: str | None,
             replications: int, seed: int, jobs: int,
             scheduler: str | None, dask_local: int | None, dask_dashboard: bool,
             progress: bool | None, forecast: bool, origins: str, horizon: str,
             min_history: float, plots: str | None, out: str | None) -> None:
    """Simulate SCENARIO over LOG's period and compare its KPIs with the log's.

    With --forecast (and LOG only): is the forecast any good? A rolling-origin backtest
    reports, per horizon, MAPE, WAPE, bias and the coverage of the P10-P90 range, for revsim
    from the state and three baselines (revsim from an empty start, the weighted pipeline,
    the run rate).
    """
    want = 1 if forecast else 2
    if len(inputs) != want:
        usage = "LOG (with --forecast)" if forecast else "SCENARIO LOG (or --forecast LOG)"
        raise click.UsageError(f"backtest takes {usage}; got {len(inputs)} argument"
                               f"{'' if len(inputs) == 1 else 's'}", ctx)
    if not forecast:
        for name in ("origins", "horizon", "min_history", "plots"):
            if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
                raise click.UsageError(f"--{name.replace('_', '-')} needs --forecast", ctx)
        _against_log(*inputs, log_format, mapping, as_of, encoding, date_format, replications,
                     seed, jobs, scheduler, dask_local, dask_dashboard, progress, out)
        return
    if ctx.get_parameter_source("replications") != click.core.ParameterSource.COMMANDLINE:
        replications = FORECAST_REPLICATIONS
    for option in ("scheduler", "dask_local"):
        if ctx.get_parameter_source(option) == click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("--forecast runs its forecasts with -j; Dask is not "
                                   "supported here yet", ctx)
    result = backtest_forecast(inputs[0], origins=origins, horizon=horizon,
                               min_history=min_history, replications=replications, seed=seed,
                               jobs=jobs, format=log_format, mapping=mapping, as_of=as_of,
                               encoding=encoding, progress=progress, date_format=date_format)
    echo(result.format())
    if out:
        written = result.to_dir(out)
        echo_err(f"wrote {len(written)} files to {out}")
    if plots:
        paths = result.write_plots(plots)
        echo_err(f"wrote {len(paths)} plot files to {plots}")


def _against_log(scenario: str, log: str, log_format: str, mapping: str | None,
                 as_of: str | None, encoding: str | None, date_format: str | None,
                 replications: int, seed: int,
                 jobs: int, scheduler: str | None, dask_local: int | None,
                 dask_dashboard: bool, progress: bool | None, out: str | None) -> None:
    sc = load_scenario(scenario)
    event_log = read_log(log, mapping=mapping, as_of=as_of, format=log_format,
                         encoding=encoding, date_format=date_format)
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
