"""``revsim sweep``: a base scenario at every point of a design, with common random numbers.

``revsim optimize`` runs its sweep through :func:`run_sweep_command` and
:func:`report_sweep` too.
"""

from __future__ import annotations

import sys

import click

from revsim.api import Scenario
from revsim.cli.exits import EXIT_TASKS_FAILED, echo_err, handles_errors
from revsim.cli.options import (
    apply_options,
    state_opt,
    sweep_options,
    sweep_run_options,
    until_opt,
)
from revsim.cli.scenario_input import load_scenario, warn
from revsim.cli.terminal import echo
from revsim.errors import Problem, ProblemsError
from revsim.experiment import hours
from revsim.sweep import SweepResult
from revsim.sweep.design import Param, parse_param
from revsim.sweep.kpi_tables import OptimizeError, check_metric_name
from revsim.sweep.plots import write_sweep_plots
from revsim.sweep.sweep_file import SweepFile, read_sweep_file


def run_sweep_command(base: str, sweep_file: str | None, params: tuple[str, ...],
                      design: str | None, points: int | None, replications: int | None,
                      seed: int | None, horizon: str | None, warmup: str | None, jobs: int,
                      scheduler: str | None, dask_local: int | None, out: str, resume: bool,
                      progress: bool | None, dask_dashboard: bool = False,
                      state: str | None = None, until: str | None = None) -> SweepResult:
    """Run the sweep the flags and SWEEP_FILE describe (flags win over the file)."""
    spec = read_sweep_file(sweep_file) if sweep_file is not None else SweepFile("")
    flagged = [parse_param(p) for p in params]
    sc = load_scenario(base)
    warn(sc)
    try:
        return _sweep(sc, spec, flagged, design, points, replications, seed, horizon, warmup,
                      jobs, scheduler, dask_local, out, resume, progress, dask_dashboard, state,
                      until)
    except ProblemsError as err:
        if sweep_file is None or params or err.source not in ("sweep", "--param"):
            raise
        # the design came (at least partly) from the file: say so, in the file's own terms
        fields = {"--param": "sweep.params" if not params else None,
                  "--replications": "sweep.replications" if replications is None else None,
                  "--points": "sweep.points" if points is None else None,
                  "--design": "sweep.design" if design is None else None}
        moved = [Problem(fields.get(p.path) or p.path, p.message) for p in err.problems]
        raise type(err)(moved, sweep_file) from None


def _sweep(sc: Scenario, spec: SweepFile, flagged: list[Param], design: str | None,
           points: int | None, replications: int | None, seed: int | None, horizon: str | None,
           warmup: str | None, jobs: int, scheduler: str | None, dask_local: int | None,
           out: str, resume: bool, progress: bool | None, dask_dashboard: bool,
           state: str | None, until: str | None) -> SweepResult:
    return sc.sweep(
        out, params=[*spec.params, *flagged],
        design=design or spec.design or "grid", points=points or spec.points or 10,
        variants=spec.variants, variants_source=spec.path or "sweep",
        replications=replications or spec.replications or 10,
        seed=seed if seed is not None else (spec.seed if spec.seed is not None else 1),
        horizon=hours(horizon, "--horizon") if horizon is not None else spec.horizon,
        warmup=hours(warmup, "--warmup") if warmup is not None else spec.warmup,
        jobs=jobs, scheduler=scheduler, dask_local=dask_local, dask_dashboard=dask_dashboard,
        resume=resume, progress=progress, state=state, until=until,
    )


def report_sweep(result: SweepResult, csv: bool) -> None:
    """Write the sweep's tables and say what ran, what was reused and what failed."""
    written = result.write(csv=csv)
    points = len(result.spec.points)
    echo_err(f"sweep: {points} points x {result.spec.replications} replications; ran "
             f"{result.ran} tasks, {result.skipped} already done, {len(result.failed)} failed "
             f"({result.wall_time_s:.1f} s); wrote {len(written)} tables to {result.folder}")
    for f in result.failed:
        echo_err(f"failed: point {f['point']} replication {f['replication']}: {f['error']}")


def write_plots(result: SweepResult, plots: str | None) -> None:
    if plots:
        paths = write_sweep_plots(result, plots)
        echo_err(f"wrote {len(paths)} plot files to {plots}")


def exit_if_failed(result: SweepResult) -> None:
    if result.failed:
        sys.exit(EXIT_TASKS_FAILED)  # the rest is saved; --resume reruns only the failures


@click.command()
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("sweep_file", required=False, type=click.Path(dir_okay=False))
@apply_options(sweep_options)
@apply_options(sweep_run_options)
@apply_options([state_opt, until_opt])
@click.option("--objective", default="bookings", show_default=True, metavar="KPI",
              help="The KPI the closing summary ranks the points by (its direction from the "
              "KPI registry).")
@handles_errors
def sweep(base: str, sweep_file: str | None, params: tuple[str, ...], design: str | None,
          points: int | None, scheduler: str | None, dask_local: int | None,
          dask_dashboard: bool, out: str, resume: bool, csv: bool, replications: int | None,
          seed: int | None, horizon: str | None, warmup: str | None, jobs: int,
          plots: str | None, progress: bool | None, state: str | None,
          until: str | None, objective: str) -> None:
    """Run BASE at every point of a design (flags or SWEEP_FILE) with common random numbers.

    Results are identical whatever the executor; finished tasks are kept, so an interrupted
    sweep continues with --resume. It ends with the best points by --objective, with CIs.
    """
    try:
        check_metric_name(objective)  # before running anything
    except OptimizeError as err:
        raise OptimizeError(err.problems, "sweep") from None
    result = run_sweep_command(base, sweep_file, params, design, points, replications, seed,
                               horizon, warmup, jobs, scheduler, dask_local, out, resume,
                               progress, dask_dashboard, state, until)
    report_sweep(result, csv)
    echo(result.format_best(objective))
    write_plots(result, plots)
    exit_if_failed(result)
