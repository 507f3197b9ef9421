"""The ``revsim`` command: a thin click layer over the Python API.

Bad input (a scenario, a flag, a path) ends with one line per problem on stderr and exit code 2,
never a traceback; an interrupted run exits 130 and leaves no half-written file; a system
failure after the input was accepted (a full disk, a lost connection) exits 1 with a clean
message.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from revsim.engine import COMPILED
from revsim.errors import Problem, RevsimError, ScenarioError
from revsim.units import UnitError
from revsim.version import __version__

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INPUT = 2
EXIT_TASKS_FAILED = 1  # a sweep finished, but some tasks raised (reported; --resume retries)
EXIT_SYSTEM = 1  # the input was fine but the system failed (a full disk, a lost connection)
EXIT_INTERRUPTED = 130


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


@contextmanager
def _clean_errors() -> Iterator[None]:
    """Turn revsim's own errors into clean messages and Unix exit codes."""
    try:
        yield
    except ScenarioError as err:
        for line in err.lines():
            _echo_err(f"error: {line}")
        n = len(err.problems)
        _echo_err(f"{n} problem{'s' if n != 1 else ''} found; nothing was run.")
        sys.exit(EXIT_INPUT)
    except (RevsimError, UnitError) as err:
        lines = err.lines() if hasattr(err, "lines") else str(err).splitlines()
        for line in lines:
            _echo_err(f"error: {line}")
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        _echo_err("interrupted; no output files were left half-written.")
        sys.exit(EXIT_INTERRUPTED)
    except OSError as err:  # e.g. the disk filled up while writing results
        where = f"{err.filename}: " if err.filename else ""
        _echo_err(f"error: {where}{err.strerror or err} (files are written whole or not at all)")
        sys.exit(EXIT_SYSTEM)


class _Output(click.Path):
    """A path revsim will write to, checked before any work starts (so an unwritable place
    fails at once, not after the run) and without side effects: a probe file is created and
    removed in the nearest existing folder; the output folders themselves come later."""

    def __init__(self, *, folder: bool) -> None:
        super().__init__(file_okay=not folder, dir_okay=folder)
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        value = super().convert(value, param, ctx)
        path = Path(value)
        if not self.folder and path.is_dir():
            self.fail(f"{value!r} is a folder; give a file name", param, ctx)
        start = path if self.folder else path.parent
        existing = next(p for p in (start, *start.parents) if p.exists())
        if not existing.is_dir():
            self.fail(f"cannot create {value!r}: {str(existing)!r} is a file", param, ctx)
        try:
            fd, probe = tempfile.mkstemp(dir=existing, prefix=".revsim-probe-")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            self.fail(f"cannot write in {str(existing)!r} ({err.strerror or err}); choose a "
                      "writable location", param, ctx)
        return value


OUT_DIR = _Output(folder=True)
OUT_FILE = _Output(folder=False)


def handles_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _clean_errors():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# -- shared options (defined once, as rasterio's CLI does) ---------------------------------------
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


executor_options = [jobs_opt, scheduler_opt, dask_local_opt, progress_opt]
"""Where the replications run, and the progress bar: every command that runs them."""

replication_options = [replications_opt, seed_opt, horizon_opt, warmup_opt, *executor_options]
"""The options of run, compare and bottlenecks."""


def _apply(options: list[Any]) -> Any:
    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


def _parse_overrides(items: tuple[str, ...]) -> dict[str, Any]:
    from revsim.scenario.load import parse_value

    changes: dict[str, Any] = {}
    problems = []
    for item in items:
        path, sep, value = item.partition("=")
        if not sep or not path.strip():
            problems.append(Problem(item, "expected PATH=VALUE, e.g. pools.sdr.headcount=6"))
            continue
        changes[path.strip()] = parse_value(value)
    if problems:
        raise ScenarioError(problems, "--set")
    return changes


def _load(path: str, overrides: tuple[str, ...] = ()) -> Any:
    import revsim

    scenario = revsim.load(path)
    if overrides:
        scenario = scenario.with_changes(_parse_overrides(overrides))
    return scenario


def _warn(scenario: Any) -> None:
    for message in scenario.warnings:
        _echo_err(f"warning: {scenario.source}: {message}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="revsim",
                      message=f"%(prog)s %(version)s ({'compiled' if COMPILED else 'interpreted'} engine)")
def main() -> None:
    """Simulate a revenue cycle (lead to cash) and read its KPIs with confidence intervals."""


plots_opt = click.option("--plots", "plots", type=OUT_DIR,
                         help="Write the plots (PNG and SVG) to this folder.")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@_apply(replication_options)
@click.option("-o", "--out", type=OUT_DIR, help="Write result files here.")
@click.option("--records/--no-records", default=False,
              help="Keep per-visit records (written to visits.csv with --out).")
@click.option("--event-log", "event_log", type=OUT_FILE,
              help="Write the simulated events (canonical event-log CSV) to this file.")
@click.option("--precision", type=click.FloatRange(min=0, min_open=True, max=1, max_open=True),
              help="Add replications until every headline KPI's 95% CI half-width is within "
              "this share of its mean (e.g. 0.05).")
@click.option("--max-replications", type=click.IntRange(min=2), default=200, show_default=True,
              help="Cap for --precision.")
@click.option("--batch-means", type=click.IntRange(min=2), metavar="K",
              help="One long run cut into K batches instead of independent replications.")
@plots_opt
@set_opt
@click.option("--quiet", "-q", is_flag=True, help="Do not print the KPI table.")
@handles_errors
def run(scenario: str, replications: int, seed: int, horizon: str | None, warmup: str | None,
        jobs: int, scheduler: str | None, dask_local: int | None, out: str | None,
        records: bool, event_log: str | None,
        precision: float | None, max_replications: int, batch_means: int | None,
        plots: str | None, overrides: tuple[str, ...], progress: bool | None,
        quiet: bool) -> None:
    """Run SCENARIO (a TOML file) and print its KPIs, each with mean, 95% CI and n.

    --warmup auto picks the warm-up with MSER-5 and reports it.
    """
    sc = _load(scenario, overrides)
    _warn(sc)
    result = sc.run(
        replications=replications, seed=seed, horizon=horizon, warmup=warmup,
        jobs=jobs, scheduler=scheduler, dask_local=dask_local,
        records=records or bool(event_log), progress=progress,
        precision=precision, max_replications=max_replications, batch_means=batch_means,
    )
    _report_method(result.manifest)
    if event_log:
        result.write_event_log(event_log)
        _echo_err(f"wrote the event log to {event_log}")
    if not quiet:
        click.echo(result.table())
    if out:
        text = Path(scenario).read_text(encoding="utf-8") if not overrides else None
        if overrides:
            text = _as_toml_comment(sc.raw, overrides)
            result.manifest["overrides"] = list(overrides)
        written = result.to_dir(out, visits=records, scenario_text=text)
        _echo_err(f"wrote {len(written)} files to {out}")
    if plots:
        paths = result.write_plots(plots)
        _echo_err(f"wrote {len(paths)} plot files to {plots}")


def _write_outputs(result: Any, out: str | None, plots: str | None) -> None:
    """Write a result's files (``to_dir``) and plots (``write_plots``) when asked."""
    if out:
        written = result.to_dir(out)
        _echo_err(f"wrote {len(written)} files to {out}")
    if plots:
        paths = result.write_plots(plots)
        _echo_err(f"wrote {len(paths)} plot files to {plots}")


def _report_method(manifest: dict[str, Any]) -> None:
    if "warmup_auto" in manifest:
        _echo_err(manifest["warmup_auto"])
    if "precision" in manifest:
        p = manifest["precision"]
        verdict = "met" if p["met"] else f"NOT met (cap of {p['cap']} reached)"
        _echo_err(f"precision {p['target']:.0%}: {verdict} after {p['replications']} "
                  f"replications (worst relative half-width {p['worst_relative_half_width']:.1%})")
    if "method" in manifest:
        _echo_err(manifest["method"])


def _variants(sc: Any, files: tuple[str, ...], overrides: tuple[str, ...],
              hires: tuple[str, ...], respond_first: tuple[str, ...],
              route_by_value: tuple[str, ...], automate: tuple[str, ...],
              terms: tuple[str, ...], dunning: tuple[str, ...],
              conversion: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Every variant asked for on the command line, as (label, scenario or changes)."""
    import revsim
    from revsim import interventions as iv

    variants: list[tuple[str, Any]] = []
    for path in files:
        other = revsim.load(path)
        variants.append((Path(path).stem, other))
    for item in overrides:
        changes = _parse_overrides(tuple(part for part in item.split(";") if part.strip()))
        variants.append((item, changes))
    problems: list[Problem] = []

    def split(text: str, sep: str, option: str) -> tuple[str, str]:
        left, found, right = text.partition(sep)
        if not found or not left.strip() or not right.strip():
            problems.append(Problem(option, f"expected A{sep}B, got {text!r}"))
            return "", ""
        return left.strip(), right.strip()

    raw = sc.raw
    for item in hires:
        pool, count = split(item, "=", "--hire")
        if not pool:
            continue
        count, _, date = count.partition("@")
        if not count.strip().isdigit():
            problems.append(Problem("--hire", f"expected POOL=N[@YYYY-MM-DD], got {item!r}"))
            continue
        variants.append(iv.hire(raw, pool, int(count), date.strip() or None))
    variants += [iv.respond_first(raw, stage) for stage in respond_first]
    variants += [iv.route_by_value(raw, stage) for stage in route_by_value]
    for item in automate:
        stage, pct = split(item, "=", "--automate")
        if stage:
            try:
                variants.append(iv.automate(raw, stage, float(pct.rstrip("%"))))
            except ValueError:
                problems.append(Problem("--automate", f"expected STAGE=PERCENT, got {item!r}"))
    for item in terms:
        value, _, segment = item.partition("@")
        variants.append(iv.payment_terms(raw, value.strip(), segment.strip() or None))
    for item in dunning:
        variants.append(iv.dunning(raw, [r.strip() for r in item.split(",") if r.strip()]))
    for item in conversion:
        route, change = split(item, "=", "--conversion")
        stage, dot, target = route.partition(".")
        if route and not dot:
            problems.append(Problem("--conversion", f"expected STAGE.TARGET=+10%, got {item!r}"))
        elif route:
            variants.append(iv.raise_conversion(raw, stage, target, change))
    if problems:
        raise ScenarioError(problems, "compare")
    return variants


@main.command()
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("variant_files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE[;PATH=VALUE]",
              help="A variant made of dotted-path overrides (repeatable: one variant each; "
              "join several changes of one variant with ';').")
@click.option("--hire", "hires", multiple=True, metavar="POOL=N[@DATE]",
              help="Variant: hire N into POOL (from DATE, with the pool's ramp).")
@click.option("--respond-first", multiple=True, metavar="STAGE",
              help="Variant: staff work STAGE (first touch) before anything else.")
@click.option("--route-by-value", multiple=True, metavar="STAGE",
              help="Variant: serve the highest-value leads first at STAGE.")
@click.option("--automate", multiple=True, metavar="STAGE=PCT",
              help="Variant: cut STAGE's staff time by PCT percent.")
@click.option("--terms", multiple=True, metavar="TERMS[@SEGMENT]",
              help="Variant: payment terms, e.g. \"net 15\" or \"net 45@enterprise\".")
@click.option("--dunning", multiple=True, metavar="T1,T2,...",
              help="Variant: reminders at these times past due, e.g. \"1 d,7 d,14 d\".")
@click.option("--conversion", multiple=True, metavar="STAGE.TARGET=+X%",
              help="Variant: raise a route's probability (+10% relative or +5pp absolute).")
@_apply(replication_options)
@click.option("-o", "--out", type=OUT_DIR, help="Write result files here.")
@plots_opt
@handles_errors
def compare(base: str, variant_files: tuple[str, ...], overrides: tuple[str, ...],
            hires: tuple[str, ...], respond_first: tuple[str, ...],
            route_by_value: tuple[str, ...], automate: tuple[str, ...], terms: tuple[str, ...],
            dunning: tuple[str, ...], conversion: tuple[str, ...], replications: int, seed: int,
            horizon: str | None, warmup: str | None, jobs: int, scheduler: str | None,
            dask_local: int | None, progress: bool | None, out: str | None,
            plots: str | None) -> None:
    """Compare BASE with variants (files, --set overrides or named RevOps changes).

    Every variant runs with the same seeds as the base (common random numbers); differences
    come with paired 95% CIs, Holm-adjusted across variants.
    """
    sc = _load(base)
    _warn(sc)
    variants = _variants(sc, variant_files, overrides, hires, respond_first, route_by_value,
                         automate, terms, dunning, conversion)
    if not variants:
        raise ScenarioError([Problem("variants", "nothing to compare: give variant files, "
                                     "--set, or a named change such as --hire ae=1")], "compare")
    comparison = sc.compare(*variants, replications=replications, seed=seed, horizon=horizon,
                            warmup=warmup, jobs=jobs, scheduler=scheduler,
                            dask_local=dask_local, progress=progress)
    click.echo(comparison.format())
    _write_outputs(comparison, out, plots)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@_apply(replication_options)
@click.option("--marginal/--no-marginal", default=True, show_default=True,
              help="Rerun with +1 head in each pool to value extra capacity.")
@click.option("--ramped", is_flag=True,
              help="Value a hire on the first day of the window who ramps up like the pool's "
              "hires ([pools.X.ramp]), instead of +1 head at full productivity from the start.")
@click.option("-o", "--out", type=OUT_DIR, help="Write result files here.")
@plots_opt
@set_opt
@handles_errors
def bottlenecks(scenario: str, replications: int, seed: int, horizon: str | None,
                warmup: str | None, jobs: int, scheduler: str | None, dask_local: int | None,
                progress: bool | None, marginal: bool, ramped: bool, out: str | None,
                plots: str | None, overrides: tuple[str, ...]) -> None:
    """Find the bottleneck of SCENARIO and value one more head in each pool."""
    sc = _load(scenario, overrides)
    _warn(sc)
    report = sc.bottlenecks(replications=replications, seed=seed, horizon=horizon,
                            warmup=warmup, jobs=jobs, scheduler=scheduler,
                            dask_local=dask_local, progress=progress, marginal=marginal,
                            ramped=ramped)
    click.echo(report.format())
    _write_outputs(report, out, plots)


def _as_toml_comment(raw: dict[str, Any], overrides: tuple[str, ...]) -> str:
    from revsim.scenario.toml_out import dumps

    header = "# scenario as run, with overrides: " + ", ".join(overrides) + "\n"
    return header + dumps(raw)


format_opt = click.option(
    "--format", "log_format", default="canonical", show_default=True,
    type=click.Choice(["canonical", "salesforce", "hubspot", "stripe", "ar", "maven"]),
    help="The export's format (canonical = revsim event log v1; XES/pm4py names accepted).",
)
mapping_opt = click.option("--mapping", type=click.Path(dir_okay=False),
                           help="TOML file mapping raw activity labels to canonical ones.")
as_of_opt = click.option("--as-of", "as_of", metavar="TIMESTAMP",
                         help="Extract time; open cases are right-censored here "
                         "(default: the last event).")


@main.command()
@click.argument("log", type=click.Path(dir_okay=False))
@format_opt
@mapping_opt
@as_of_opt
@click.option("-o", "--output", required=True, type=OUT_FILE,
              help="Write the fitted scenario (TOML) here.")
@click.option("--report", "report_dir", type=OUT_DIR,
              help="Write the fit report (tables, KM/QQ plots, summary.md) to this folder.")
@click.option("--name", help="Scenario name.")
@progress_opt
@handles_errors
def fit(log: str, log_format: str, mapping: str | None, as_of: str | None, output: str,
        report_dir: str | None, name: str | None, progress: bool | None) -> None:
    """Fit a scenario to an event LOG (CRM/billing export) and write it with its evidence."""
    from revsim.calibrate.fit_log import fit as fit_log

    fitted = fit_log(log, mapping=mapping, as_of=as_of, format=log_format, name=name,
                     progress=progress)
    _echo_err(fitted.log.describe())
    fitted.write(output)
    fitted.scenario()  # the written file must load; raises with every problem if not
    _echo_err(f"wrote the fitted scenario to {output}")
    for note in fitted.notes:
        _echo_err(f"note: {note}")
    if report_dir:
        written = fitted.write_report(report_dir)
        _echo_err(f"wrote {len(written)} report files to {report_dir}")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("log", type=click.Path(dir_okay=False))
@format_opt
@mapping_opt
@as_of_opt
@replications_opt
@seed_opt
@_apply(executor_options)
@click.option("-o", "--out", type=OUT_FILE, help="Write the table as CSV.")
@handles_errors
def backtest(scenario: str, log: str, log_format: str, mapping: str | None, as_of: str | None,
             replications: int, seed: int, jobs: int, scheduler: str | None,
             dask_local: int | None, progress: bool | None, out: str | None) -> None:
    """Simulate SCENARIO over LOG's period and compare its KPIs with the log's."""
    from revsim.calibrate.backtest import backtest as run_backtest
    from revsim.calibrate.backtest import format_backtest
    from revsim.calibrate.fit_log import read_log

    sc = _load(scenario)
    event_log = read_log(log, mapping=mapping, as_of=as_of, format=log_format)
    table = run_backtest(sc, event_log, replications=replications, seed=seed, jobs=jobs,
                         scheduler=scheduler, dask_local=dask_local, progress=progress)
    click.echo(format_backtest(table))
    if out:
        from revsim.io import write_csv

        write_csv(table, Path(out))
        _echo_err(f"wrote {out}")


def _sweep_file(path: str | None) -> dict[str, Any]:
    """Read a sweep definition ([sweep] table) from TOML; {} without a file."""
    if path is None:
        return {}
    from revsim.scenario.load import read_toml

    data = read_toml(path)
    body = data.get("sweep")
    if not isinstance(body, dict):
        raise ScenarioError([Problem("sweep", "a sweep file needs a [sweep] table")], path)
    known = {"design", "points", "replications", "seed", "horizon", "warmup", "params",
             "variants"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise ScenarioError([Problem(f"sweep.{k}", f"unknown field; valid: {', '.join(sorted(known))}")
                             for k in unknown], path)
    return body


def _param_specs(file_params: dict[str, Any], flags: tuple[str, ...]) -> list[str]:
    specs = []
    for path, value in file_params.items():
        if isinstance(value, list):
            specs.append(f"{path}=" + ",".join(json.dumps(v) if isinstance(v, str) else str(v)
                                               for v in value))
        else:
            specs.append(f"{path}={value}")
    return specs + list(flags)


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


def _run_sweep_cli(base: str, sweep_file: str | None, params: tuple[str, ...],
                   design: str | None, points: int | None, replications: int | None,
                   seed: int | None, horizon: str | None, warmup: str | None, jobs: int,
                   scheduler: str | None, dask_local: int | None, out: str, resume: bool,
                   progress: bool | None) -> Any:
    from revsim.experiment import hours

    spec = _sweep_file(sweep_file)
    sc = _load(base)
    _warn(sc)
    return sc.sweep(
        out, params=_param_specs(spec.get("params", {}), params),
        design=design or spec.get("design", "grid"), points=points or spec.get("points", 10),
        variants=spec.get("variants", []),
        replications=replications or spec.get("replications", 10),
        seed=seed if seed is not None else spec.get("seed", 1),
        horizon=hours(horizon or spec.get("horizon"), "horizon"),
        warmup=hours(warmup or spec.get("warmup"), "warmup"),
        jobs=jobs, scheduler=scheduler, dask_local=dask_local,
        resume=resume, progress=progress,
    )


def _report_sweep(result: Any, csv: bool) -> None:
    written = result.write(csv=csv)
    points = len(result.spec.points)
    _echo_err(f"sweep: {points} points x {result.spec.replications} replications; ran "
              f"{result.ran} tasks, {result.skipped} already done, {len(result.failed)} failed "
              f"({result.wall_time_s:.1f} s); wrote {len(written)} tables to {result.folder}")
    for f in result.failed:
        _echo_err(f"failed: point {f['point']} replication {f['replication']}: {f['error']}")


@main.command()
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("sweep_file", required=False, type=click.Path(dir_okay=False))
@_apply(sweep_options)
@_apply(sweep_run_options)
@handles_errors
def sweep(base: str, sweep_file: str | None, params: tuple[str, ...], design: str | None,
          points: int | None, scheduler: str | None, dask_local: int | None, out: str,
          resume: bool, csv: bool, replications: int | None, seed: int | None,
          horizon: str | None, warmup: str | None, jobs: int, plots: str | None,
          progress: bool | None) -> None:
    """Run BASE at every point of a design (flags or SWEEP_FILE) with common random numbers.

    Results are identical whatever the executor; finished tasks are kept, so an interrupted
    sweep continues with --resume.
    """
    result = _run_sweep_cli(base, sweep_file, params, design, points, replications, seed,
                            horizon, warmup, jobs, scheduler, dask_local, out, resume, progress)
    _report_sweep(result, csv)
    if plots:
        from revsim.sweep.plots import write_sweep_plots

        paths = write_sweep_plots(result, plots)
        _echo_err(f"wrote {len(paths)} plot files to {plots}")
    if result.failed:
        sys.exit(EXIT_TASKS_FAILED)  # the rest is saved; --resume reruns only the failures


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@set_opt
@handles_errors
def validate(files: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Check scenario FILES without running them; report every problem at once."""
    import revsim

    failed = 0
    for path in files:
        try:
            sc = revsim.load(path)
            if overrides:
                sc = sc.with_changes(_parse_overrides(overrides))
        except ScenarioError as err:
            failed += 1
            for line in err.lines():
                _echo_err(f"error: {line}")
            continue
        _warn(sc)
        m = sc.model
        click.echo(
            f"{path}: ok ({len(m.sources)} sources, {len(m.pools)} pools, "
            f"{len(m.stages)} stages)"
        )
    if failed:
        _echo_err(f"{failed} of {len(files)} file{'s' if len(files) != 1 else ''} invalid.")
        sys.exit(EXIT_INPUT)


@main.command()
@click.option("-o", "--output", type=OUT_FILE, help="Write to a file.")
@handles_errors
def schema(output: str | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    from revsim.scenario.schema import json_schema

    text = json.dumps(json_schema(), indent=2)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


@main.command()
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("sweep_file", required=False, type=click.Path(dir_okay=False))
@click.option("--objective", required=True, metavar="METRIC",
              help="KPI to optimise, e.g. cash_collected (SCOPE:NAME:METRIC for a stage or "
              "pool KPI, e.g. pool:sdr:utilisation).")
@click.option("--scope", metavar="SCOPE", help="The objective's scope (total, cash, ...) "
              "when its name is ambiguous.")
@click.option("--budget", metavar="EXPR",
              help="Constraint, e.g. \"staff_cost <= 2.4M\" (per year) or \"dso <= 45 d\" "
              "(a KPI is held to its mean).")
@click.option("--minimize", is_flag=True, help="Lower is better (e.g. cycle_time_median).")
@click.option("--confidence", type=click.FloatRange(0.5, 1, max_open=True), default=0.95,
              show_default=True, help="Confidence of the comparisons with the best point.")
@_apply(sweep_options)
@_apply(sweep_run_options)
@handles_errors
def optimize(base: str, sweep_file: str | None, objective: str, scope: str | None,
             budget: str | None, minimize: bool, confidence: float, params: tuple[str, ...],
             design: str | None, points: int | None, scheduler: str | None,
             dask_local: int | None, out: str, resume: bool, csv: bool,
             replications: int | None, seed: int | None, horizon: str | None,
             warmup: str | None, jobs: int, plots: str | None, progress: bool | None) -> None:
    """Run (or resume) a sweep of BASE into -o and pick its best point under --budget.

    The best point is compared with every other feasible one by paired differences over
    replications (common random numbers, Bonferroni); points it cannot be told apart from are
    listed. Finished tasks in -o are reused (--resume is implied), so asking again with another
    objective or budget costs nothing.
    """
    from revsim.sweep.budget import parse_budget
    from revsim.sweep.kpi_tables import check_metric_name
    from revsim.sweep.optimize import optimize as select

    check_metric_name(objective)  # before running anything
    parsed = parse_budget(budget) if budget else None
    result = _run_sweep_cli(base, sweep_file, params, design, points, replications, seed,
                            horizon, warmup, jobs, scheduler, dask_local, out, True, progress)
    _report_sweep(result, csv)
    selection = select(result, objective, scope=scope, budget=parsed, minimize=minimize,
                       confidence=confidence)
    click.echo(selection.format())
    if plots:
        from revsim.sweep.plots import write_sweep_plots

        paths = write_sweep_plots(result, plots)
        _echo_err(f"wrote {len(paths)} plot files to {plots}")
    if result.failed:
        sys.exit(EXIT_TASKS_FAILED)


@main.command()
@click.argument("results_dir", type=click.Path())
@click.option("-o", "--output", type=OUT_FILE,
              help="Write the report here (default: RESULTS_DIR/report.html).")
@handles_errors
def report(results_dir: str, output: str | None) -> None:
    """Write a self-contained HTML report (KPIs, plots, how to reproduce) of RESULTS_DIR.

    RESULTS_DIR is a folder written by `revsim run -o`, optionally with the files of
    `revsim bottlenecks -o` and `revsim compare -o` beside them, or by `revsim sweep -o`.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window
    from revsim.report import write_report

    path = write_report(results_dir, output)
    _echo_err(f"wrote the report to {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
