"""The options that several commands share, each defined once (as rasterio's CLI does).

Only click and revsim's light modules are imported here: every command module reads this one,
and ``revsim --version`` runs from it.
"""

from __future__ import annotations

from typing import Any

import click

from revsim.cli.output import OUT_DIR
from revsim.version import __version__

replications_opt = click.option(
    "-n", "--replications", type=click.IntRange(min=1), default=10, show_default=True,
    help="Independent replications; every KPI gets a 95% CI over them.",
)
seed_opt = click.option(
    "--seed", type=click.IntRange(min=0), default=1, show_default=True,
    help="Root seed. The same seed gives identical results whatever --jobs is.",
)
horizon_opt = click.option("--horizon", metavar="DURATION",
                           help="Override the scenario's horizon, e.g. \"26 w\".")
warmup_opt = click.option("--warmup", metavar="DURATION",
                          help="Override the warm-up excluded from statistics, e.g. \"4 w\".")
jobs_opt = click.option(
    "-j", "--jobs", type=click.IntRange(min=0), default=0, show_default=True,
    help="Local worker processes (0 = one per CPU, 1 = in this process); results do not "
    "depend on it.",
)
scheduler_opt = click.option("--scheduler", metavar="tcp://HOST:PORT",
                             help="Run on an existing Dask cluster (needs revsim[dask]).")
dask_local_opt = click.option("--dask-local", type=click.IntRange(min=1), metavar="N",
                              help="Start a local Dask cluster of N worker processes.")
set_opt = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE",
    help="Override a scenario value by dotted path, e.g. pools.sdr.headcount=6 (repeatable).",
)
progress_opt = click.option("--progress/--no-progress", default=None,
                            help="Progress bar (default: only on a terminal).")
plots_opt = click.option("--plots", "plots", type=OUT_DIR,
                         help="Write the plots (PNG and SVG) to this folder.")
out_dir_opt = click.option("-o", "--out", type=OUT_DIR, help="Write result files here.")


executor_options = [jobs_opt, scheduler_opt, dask_local_opt, progress_opt]
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
as_of_opt = click.option("--as-of", "as_of", metavar="TIMESTAMP",
                         help="Extract time; open cases are right-censored here "
                         "(default: the last event).")


# -- a design of points (sweep, optimize) --------------------------------------------------------
sweep_options = [
    click.option("--param", "params", multiple=True, metavar="PATH=LOW:HIGH[:STEP]|A,B,C",
                 help="A swept parameter (repeatable), e.g. pools.sdr.headcount=2:8."),
    click.option("--design", type=click.Choice(["grid", "lhs", "variants"]), default=None,
                 help="Full grid (default), Latin hypercube, or the file's named variants."),
    click.option("--points", type=click.IntRange(min=1), default=None,
                 help="Points of a Latin hypercube."),
    click.option("-o", "--out", required=True, type=OUT_DIR,
                 help="The sweep's folder (results, manifest, finished tasks)."),
    click.option("--resume", is_flag=True, help="Run only the tasks that are not finished."),
    click.option("--csv", is_flag=True, help="Also write the tables as CSV."),
]

sweep_run_options = [
    click.option("-n", "--replications", type=click.IntRange(min=1), default=None,
                 help="Replications per point (default 10, or the sweep file's)."),
    click.option("--seed", type=click.IntRange(min=0), default=None,
                 help="Root seed (default 1)."),
    horizon_opt,
    warmup_opt,
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
