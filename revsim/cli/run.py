"""``revsim run``: one scenario's KPIs with confidence intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from revsim.api import Scenario
from revsim.cli.exits import echo_err, handles_errors
from revsim.cli.options import (
    FiniteFloatRange,
    apply_options,
    by_opt,
    out_dir_opt,
    parameter_uncertainty_opt,
    plots_opt,
    raw_csv_opt,
    replication_options,
    set_opt,
    state_options,
)
from revsim.cli.output import OUT_FILE
from revsim.cli.scenario_input import load_scenario, warn
from revsim.cli.terminal import echo
from revsim.limits import MAX_BATCHES, MAX_REPLICATIONS
from revsim.scenario.toml_out import dumps


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@apply_options(replication_options)
@apply_options([*state_options, by_opt])
@out_dir_opt
@click.option("--records/--no-records", default=False,
              help="Keep per-visit records (written to visits.csv with --out).")
@click.option("--event-log", "event_log", type=OUT_FILE,
              help="Write the simulated events (canonical event-log CSV) to this file.")
@click.option("--precision",
              type=FiniteFloatRange(min=0, min_open=True, max=1, max_open=True),
              help="Add replications until every headline KPI's 95% CI half-width is within "
              "this share of its mean (e.g. 0.05).")
@click.option("--max-replications", type=click.IntRange(min=2, max=MAX_REPLICATIONS), default=200,
              show_default=True,
              help="Cap for --precision.")
@click.option("--batch-means", type=click.IntRange(min=2, max=MAX_BATCHES), metavar="K",
              help="One long run cut into K batches instead of independent replications.")
@parameter_uncertainty_opt
@plots_opt
@set_opt
@raw_csv_opt
@click.option("--quiet", "-q", is_flag=True, help="Do not print the KPI table.")
@handles_errors
def run(scenario: str, replications: int, seed: int, horizon: str | None, warmup: str | None,
        jobs: int, scheduler: str | None, dask_local: int | None, dask_dashboard: bool,
        state: str | None, until: str | None, force_warmup: bool, by: str | None,
        out: str | None,
        records: bool, event_log: str | None,
        precision: float | None, max_replications: int, batch_means: int | None,
        parameter_uncertainty: bool | None, plots: str | None, overrides: tuple[str, ...],
        progress: bool | None, quiet: bool) -> None:
    """Run SCENARIO (a TOML file) and print its KPIs, each with mean, 95% CI and n.

    --warmup auto picks the warm-up with MSER-5 and reports it. --state starts from a snapshot
    of open deals and invoices instead of an empty cycle (no warm-up).
    """
    sc = load_scenario(scenario, overrides)
    warn(sc)
    result = sc.run(
        replications=replications, seed=seed, horizon=horizon, warmup=warmup,
        jobs=jobs, scheduler=scheduler, dask_local=dask_local, dask_dashboard=dask_dashboard,
        records=records or bool(event_log), progress=progress,
        precision=precision, max_replications=max_replications, batch_means=batch_means,
        parameter_uncertainty=parameter_uncertainty,
        state=state, until=until, by=by, force_warmup=force_warmup,
    )
    report_method(result.manifest)
    for warning in result.warnings:
        echo_err(f"warning: {warning}")
    if event_log:
        result.write_event_log(event_log)
        echo_err(f"wrote the event log to {event_log}")
    if not quiet:
        echo(result.table())
    if out:
        text = sc.text if not overrides else None
        if overrides:
            text = as_toml_comment(sc.raw, overrides)
            result.manifest["overrides"] = list(overrides)
        written = result.to_dir(out, visits=records, scenario_text=text,
                                files=draws_copy(sc, result.manifest))
        echo_err(f"wrote {len(written)} files to {out}")
    if plots:
        paths = result.write_plots(plots)
        echo_err(f"wrote {len(paths)} plot files to {plots}")


def report_method(manifest: dict[str, Any]) -> None:
    """Say how the replications were chosen: auto warm-up, precision target, batch means."""
    if "warmup_auto" in manifest:
        echo_err(manifest["warmup_auto"])
    if "precision" in manifest:
        p = manifest["precision"]
        verdict = "met" if p["met"] else f"NOT met (cap of {p['cap']} reached)"
        echo_err(f"precision {p['target']:.0%}: {verdict} after {p['replications']} "
                 f"replications (worst relative half-width {p['worst_relative_half_width']:.1%})")
    if "method" in manifest:
        echo_err(manifest["method"])
    if "state" in manifest:
        echo_err(f"started from the state {manifest['state']}")
        for note in manifest.get("state_notes", []):
            echo_err(f"note: {note}")


def draws_copy(sc: Scenario, manifest: dict[str, Any]) -> dict[str, bytes]:
    """The parameter draws a run used, to write beside its copy of the scenario (which names
    them by file name), so that running that copy gives the same results."""
    draws = sc.parameter_draws if manifest.get("parameter_uncertainty") else None
    if draws is None or Path(draws.file).name != draws.file:
        return {}
    return {draws.file: draws.path.read_bytes()}


def as_toml_comment(raw: dict[str, Any], overrides: tuple[str, ...]) -> str:
    """The scenario as run (overrides applied), headed by a comment naming the overrides."""
    header = "# scenario as run, with overrides: " + ", ".join(overrides) + "\n"
    return header + dumps(raw)
