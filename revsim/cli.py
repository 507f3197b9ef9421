"""The ``revsim`` command: a thin click layer over the Python API.

Bad input (a scenario, a flag, a path) ends with one line per problem on stderr and exit code 2,
never a traceback; an interrupted run exits 130 and leaves no half-written file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from revsim import __version__
from revsim.errors import Problem, RevsimError, ScenarioError
from revsim.units import UnitError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INPUT = 2
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
        _echo_err(f"error: {err}")
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        _echo_err("interrupted; no output files were left half-written.")
        sys.exit(EXIT_INTERRUPTED)


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
    "-j", "--jobs", type=click.IntRange(min=0), default=1, show_default=True,
    help="Worker processes for replications (0 = one per CPU).",
)
set_opt = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE",
    help="Override a scenario value by dotted path, e.g. pools.sdr.headcount=6 (repeatable).",
)
progress_opt = click.option("--progress/--no-progress", default=None,
                            help="Progress bar (default: only on a terminal).")


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
@click.version_option(__version__, prog_name="revsim")
def main() -> None:
    """Simulate a revenue cycle (lead to cash) and read its KPIs with confidence intervals."""


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@replications_opt
@seed_opt
@horizon_opt
@warmup_opt
@jobs_opt
@click.option("-o", "--out", type=click.Path(file_okay=False), help="Write result files here.")
@click.option("--records/--no-records", default=False,
              help="Keep per-visit records (written to visits.csv with --out).")
@click.option("--event-log", "event_log", type=click.Path(dir_okay=False),
              help="Write the simulated events (canonical event-log CSV) to this file.")
@set_opt
@progress_opt
@click.option("--quiet", "-q", is_flag=True, help="Do not print the KPI table.")
@handles_errors
def run(scenario: str, replications: int, seed: int, horizon: str | None, warmup: str | None,
        jobs: int, out: str | None, records: bool, event_log: str | None,
        overrides: tuple[str, ...], progress: bool | None, quiet: bool) -> None:
    """Run SCENARIO (a TOML file) and print its KPIs, each with mean, 95% CI and n."""
    sc = _load(scenario, overrides)
    _warn(sc)
    result = sc.run(
        replications=replications, seed=seed, horizon=horizon, warmup=warmup,
        jobs=jobs if jobs > 0 else None, records=records or bool(event_log), progress=progress,
    )
    if event_log:
        result.write_event_log(event_log)
        _echo_err(f"wrote the event log to {event_log}")
    if not quiet:
        click.echo(result.table())
    if out:
        text = Path(scenario).read_text(encoding="utf-8") if not overrides else None
        if overrides:
            text = _as_toml_comment(sc.raw, overrides)
        written = result.to_dir(out, visits=records, scenario_text=text)
        _echo_err(f"wrote {len(written)} files to {out}")


def _as_toml_comment(raw: dict[str, Any], overrides: tuple[str, ...]) -> str:
    from revsim.scenario.toml_out import dumps

    header = "# scenario as run, with overrides: " + ", ".join(overrides) + "\n"
    return header + dumps(raw)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@set_opt
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
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file.")
def schema(output: str | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    from revsim.scenario.schema import json_schema

    text = json.dumps(json_schema(), indent=2)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


if __name__ == "__main__":  # pragma: no cover
    main()
