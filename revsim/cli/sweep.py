"""``revsim sweep``: a base scenario at every point of a design, with common random numbers.

``revsim optimize`` runs its sweep through :func:`run_sweep_command` and
:func:`report_sweep` too.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from revsim.cli.exits import EXIT_TASKS_FAILED, echo_err, handles_errors
from revsim.cli.options import apply_options, sweep_options, sweep_run_options
from revsim.cli.scenario_input import load_scenario, warn
from revsim.errors import Problem, ScenarioError
from revsim.experiment import hours
from revsim.scenario.load import read_toml
from revsim.sweep import SweepResult
from revsim.sweep.plots import write_sweep_plots

SWEEP_FILE_FIELDS = frozenset({"design", "points", "replications", "seed", "horizon", "warmup",
                               "params", "variants"})


def read_sweep_file(path: str | None) -> dict[str, Any]:
    """Read a sweep definition ([sweep] table) from TOML; {} without a file."""
    if path is None:
        return {}
    data = read_toml(path)
    body = data.get("sweep")
    if not isinstance(body, dict):
        raise ScenarioError([Problem("sweep", "a sweep file needs a [sweep] table")], path)
    unknown = sorted(set(body) - SWEEP_FILE_FIELDS)
    if unknown:
        valid = ", ".join(sorted(SWEEP_FILE_FIELDS))
        raise ScenarioError([Problem(f"sweep.{k}", f"unknown field; valid: {valid}")
                             for k in unknown], path)
    return body


def param_specs(file_params: dict[str, Any], flags: tuple[str, ...]) -> list[str]:
    """The sweep file's [sweep.params] as --param specs, followed by the --param flags."""
    specs = []
    for path, value in file_params.items():
        if isinstance(value, list):
            specs.append(f"{path}=" + ",".join(json.dumps(v) if isinstance(v, str) else str(v)
                                               for v in value))
        else:
            specs.append(f"{path}={value}")
    return specs + list(flags)


def run_sweep_command(base: str, sweep_file: str | None, params: tuple[str, ...],
                      design: str | None, points: int | None, replications: int | None,
                      seed: int | None, horizon: str | None, warmup: str | None, jobs: int,
                      scheduler: str | None, dask_local: int | None, out: str, resume: bool,
                      progress: bool | None, dask_dashboard: bool = False) -> SweepResult:
    """Run the sweep the flags and SWEEP_FILE describe (flags win over the file)."""
    spec = read_sweep_file(sweep_file)
    sc = load_scenario(base)
    warn(sc)
    return sc.sweep(
        out, params=param_specs(spec.get("params", {}), params),
        design=design or spec.get("design", "grid"), points=points or spec.get("points", 10),
        variants=spec.get("variants", []),
        replications=replications or spec.get("replications", 10),
        seed=seed if seed is not None else spec.get("seed", 1),
        horizon=hours(horizon or spec.get("horizon"), "horizon"),
        warmup=hours(warmup or spec.get("warmup"), "warmup"),
        jobs=jobs, scheduler=scheduler, dask_local=dask_local, dask_dashboard=dask_dashboard,
        resume=resume, progress=progress,
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
@handles_errors
def sweep(base: str, sweep_file: str | None, params: tuple[str, ...], design: str | None,
          points: int | None, scheduler: str | None, dask_local: int | None,
          dask_dashboard: bool, out: str, resume: bool, csv: bool, replications: int | None,
          seed: int | None, horizon: str | None, warmup: str | None, jobs: int,
          plots: str | None, progress: bool | None) -> None:
    """Run BASE at every point of a design (flags or SWEEP_FILE) with common random numbers.

    Results are identical whatever the executor; finished tasks are kept, so an interrupted
    sweep continues with --resume.
    """
    result = run_sweep_command(base, sweep_file, params, design, points, replications, seed,
                               horizon, warmup, jobs, scheduler, dask_local, out, resume,
                               progress, dask_dashboard)
    report_sweep(result, csv)
    write_plots(result, plots)
    exit_if_failed(result)
