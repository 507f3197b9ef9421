"""The options that several commands share, each defined once (as rasterio's CLI does).

Only click and revsim's light modules are imported here: every command module reads this one,
and ``revsim --version`` runs from it.
"""

from __future__ import annotations

import re
from typing import Any

import click

from revsim.cli.output import OUT_DIR
from revsim.io import raw_csv
from revsim.limits import (
    HOURS_PER_YEAR,
    MAX_HORIZON_YEARS,
    MAX_POINTS,
    MAX_REPLICATIONS,
    MAX_WORKERS,
    YEARS,
    clip,
)
from revsim.units import UnitError, parse_duration
from revsim.version import __version__


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that refuses nan (which passes every comparison) and inf."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        number = super().convert(value, param, ctx)
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(f"{clip(repr(value))} is not a finite number", param, ctx)
        return number


def duration_flag(*, positive: bool = False, auto: bool = False) -> Any:
    """A click callback that checks a duration flag ("26 w") before anything runs, so a bad
    one is reported as that flag (exit 2); the value is passed on as given."""
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        if auto and value.strip().lower() == "auto":
            return value
        try:
            hours = parse_duration(value)
        except UnitError as err:
            raise click.BadParameter(str(err)) from None
        if positive and hours <= 0:
            raise click.BadParameter(f"must be longer than 0, got {clip(repr(value))}; give a "
                                     "longer one, e.g. \"26 w\"")
        if hours > MAX_HORIZON_YEARS * HOURS_PER_YEAR:
            raise click.BadParameter(f"{clip(repr(value))} is longer than the "
                                     f"{MAX_HORIZON_YEARS} years revsim simulates")
        return value
    return check


def timestamp_flag(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A date or timestamp flag: an ISO one outside the supported years is refused here
    (other spellings are read, and checked, by the command)."""
    if value is None:
        return None
    import datetime as dt  # lazy: stdlib, but only the commands with a date flag need it

    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        if re.search(r"(?<!\d)\d{5,}(?!\d)", value):
            raise click.BadParameter(f"cannot read the date {clip(repr(value))}; write e.g. "
                                     "2027-06-30 or 2027-06-30T12:00:00Z") from None
        return value
    if not YEARS[0] <= when.year <= YEARS[1]:
        raise click.BadParameter(f"{clip(repr(value))} is outside the years "
                                 f"{YEARS[0]}-{YEARS[1]} revsim works with; check the year")
    return value

replications_opt = click.option(
    "-n", "--replications", type=click.IntRange(min=1, max=MAX_REPLICATIONS), default=10,
    show_default=True,
    help="Independent replications; every KPI gets a 95% CI over them.",
)
seed_opt = click.option(
    "--seed", type=click.IntRange(min=0), default=1, show_default=True,
    help="Root seed. The same seed gives identical results whatever --jobs is.",
)
horizon_opt = click.option("--horizon", metavar="DURATION",
                           callback=duration_flag(positive=True),
                           help="Override the scenario's horizon, e.g. \"26 w\".")
warmup_opt = click.option("--warmup", metavar="DURATION", callback=duration_flag(auto=True),
                          help="Override the warm-up excluded from statistics, e.g. \"4 w\".")
plain_warmup_opt = click.option("--warmup", metavar="DURATION", callback=duration_flag(),
                                help="Override the warm-up excluded from statistics, e.g. "
                                "\"4 w\".")
jobs_opt = click.option(
    "-j", "--jobs", type=click.IntRange(min=0, max=MAX_WORKERS), default=0, show_default=True,
    help="Local worker processes (0 = one per CPU, 1 = in this process); results do not "
    "depend on it.",
)
scheduler_opt = click.option("--scheduler", metavar="tcp://HOST:PORT",
                             help="Run on an existing Dask cluster (needs revsim[dask]).")
dask_local_opt = click.option("--dask-local", type=click.IntRange(min=1, max=MAX_WORKERS),
                              metavar="N",
                              help="Start a local Dask cluster of N worker processes.")
dask_dashboard_opt = click.option(
    "--dask-dashboard", is_flag=True,
    help="Serve the --dask-local cluster's dashboard on 127.0.0.1 (off by default: the "
    "cluster then answers no HTTP request).")
set_opt = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE",
    help="Override a scenario value by dotted path, e.g. pools.sdr.headcount=6 (repeatable).",
)
progress_opt = click.option("--progress/--no-progress", default=None,
                            help="Progress bar (default: only on a terminal).")
plots_opt = click.option("--plots", "plots", type=OUT_DIR,
                         help="Write the plots (PNG and SVG) to this folder.")
out_dir_opt = click.option("-o", "--out", type=OUT_DIR, help="Write result files here.")


# -- starting from a snapshot of the business (run, compare, bottlenecks, sweep, forecast) --------
state_opt = click.option(
    "--state", metavar="FOLDER",
    help="Start from this snapshot of the business (open deals, invoices, live contracts): "
    "its as-of date is the start, every open item is placed with the time it has spent, no "
    "warm-up.")
until_opt = click.option("--until", metavar="DATE",
                         help="With --state: run to the end of DATE (e.g. 2027-03-31); "
                         "default: the scenario's window length from the as-of date.")
force_warmup_opt = click.option("--force-warmup", is_flag=True,
                                help="With --state: allow --warmup, discarding the start of "
                                "the run from the state.")
by_opt = click.option("--by", type=click.Choice(["week", "month", "quarter"]),
                      help="With --state: also report the figures of each calendar period.")
state_options = [state_opt, until_opt, force_warmup_opt]
"""How run, compare and bottlenecks start from a state."""


def _on_off(ctx: click.Context, param: click.Parameter, value: str | None) -> bool | None:
    return None if value is None else value == "on"


def parameter_uncertainty_option(default: str) -> Any:
    """``--parameter-uncertainty on|off``, passed on as ``parameter_uncertainty: bool | None``
    (None when not given: the command's ``default``, which the help states)."""
    return click.option(
        "--parameter-uncertainty", "parameter_uncertainty", type=click.Choice(["on", "off"]),
        default=None, callback=_on_off,
        help="Run each replication with one bootstrap draw of the fitted parameters (the "
        "scenario's [parameter_draws], written by revsim fit), so the intervals include the "
        f"fit's estimation error. Default: {default}.",
    )


def _on_off_both(ctx: click.Context, param: click.Parameter, value: str | None
                 ) -> bool | str | None:
    return value if value in (None, "both") else value == "on"


forecast_uncertainty_opt = click.option(
    "--parameter-uncertainty", "parameter_uncertainty", type=click.Choice(["on", "off", "both"]),
    default=None, callback=_on_off_both,
    help="on: run each replication with one bootstrap draw of the fitted parameters (the "
    "scenario's [parameter_draws], written by revsim fit), so the ranges include the fit's "
    "estimation error; off: the parameters as fitted; both: the same replications both ways, "
    "side by side (twice the work). Default: both when the scenario names parameter draws.",
)

parameter_uncertainty_opt = parameter_uncertainty_option("off")
"""For run and compare (off unless asked for)."""

def _raw_csv(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.with_resource(raw_csv())  # for this command only: undone when it ends


raw_csv_opt = click.option(
    "--raw-csv", is_flag=True, expose_value=False, callback=_raw_csv,
    help="Write CSV text exactly as it is: no quote before cells a spreadsheet would run as a "
    "formula (=, +, -, @).",
)


executor_options = [jobs_opt, scheduler_opt, dask_local_opt, dask_dashboard_opt, progress_opt]
"""Where the replications run, and the progress bar: every command that runs them."""

replication_options = [replications_opt, seed_opt, horizon_opt, warmup_opt, *executor_options]
"""The options of run, compare and bottlenecks."""


def apply_options(options: list[Any]) -> Any:
    """A decorator applying ``options`` so that ``--help`` lists them in this order."""
    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


# -- reading an event log (fit, backtest) --------------------------------------------------------
format_opt = click.option(
    "--format", "log_format", default="canonical", show_default=True,
    type=click.Choice(["canonical", "salesforce", "hubspot", "stripe", "ar", "maven"]),
    help="The export's format (canonical = revsim event log v1; XES/pm4py names accepted).",
)
mapping_opt = click.option("--mapping", type=click.Path(dir_okay=False),
                           help="TOML file mapping raw activity labels to canonical ones.")
encoding_opt = click.option("--encoding", metavar="NAME",
                            help="The CSV file's text encoding, e.g. cp1252 or utf-16 "
                            "(default: UTF-8).")
date_format_opt = click.option(
    "--date-format", "date_format", metavar="FORMAT",
    help="How the log writes dates that are not ISO 8601: day-first (1/2/2013 is 1 February), "
    "month-first (2 January) or a strftime pattern such as %d/%m/%Y %H:%M. Overrides the "
    "mapping's [dates] format.")
as_of_opt = click.option("--as-of", "as_of", metavar="TIMESTAMP", callback=timestamp_flag,
                         help="Extract time; open cases are right-censored here "
                         "(default: the last event).")


# -- a design of points (sweep, optimize) --------------------------------------------------------
sweep_options = [
    click.option("--param", "params", multiple=True, metavar="PATH=LOW:HIGH[:STEP]|A,B,C",
                 help="A swept parameter (repeatable), e.g. pools.sdr.headcount=2:8."),
    click.option("--design", type=click.Choice(["grid", "lhs", "variants"]), default=None,
                 help="Full grid (default), Latin hypercube, or the file's named variants."),
    click.option("--points", type=click.IntRange(min=1, max=MAX_POINTS), default=None,
                 help="Points of a Latin hypercube."),
    click.option("-o", "--out", required=True, type=OUT_DIR,
                 help="The sweep's folder (results, manifest, finished tasks)."),
    click.option("--resume", is_flag=True, help="Run only the tasks that are not finished."),
    click.option("--csv", is_flag=True, help="Also write the tables as CSV."),
    raw_csv_opt,
]

sweep_run_options = [
    click.option("-n", "--replications", type=click.IntRange(min=1, max=MAX_REPLICATIONS),
                 default=None,
                 help="Replications per point (default 10, or the sweep file's)."),
    click.option("--seed", type=click.IntRange(min=0), default=None,
                 help="Root seed (default 1)."),
    horizon_opt,
    plain_warmup_opt,  # a sweep has no automatic warm-up
    *executor_options,
    plots_opt,
]

# -- the group's own ------------------------------------------------------------------------------
def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    # lazy: revsim.engine's package module only checks which engine runs (stdlib, no numpy);
    # imported here, not at the top, so that `revsim --help` never checks it (or warns)
    from revsim.engine import COMPILED

    click.echo(f"revsim {__version__} ({'compiled' if COMPILED else 'interpreted'} engine)")
    ctx.exit()


version_opt = click.option(
    "--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
    help="Show the version and exit.",
)
"""Like ``click.version_option``, but the engine is checked only when --version is given."""
