"""``revsim compare``: a base scenario against variants, with common random numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from revsim import interventions as iv
from revsim.api import Scenario, load
from revsim.cli.exits import handles_errors
from revsim.cli.options import (
    apply_options,
    by_opt,
    out_dir_opt,
    parameter_uncertainty_opt,
    plots_opt,
    raw_csv_opt,
    replication_options,
    state_options,
)
from revsim.cli.output import write_outputs
from revsim.cli.scenario_input import load_scenario, parse_overrides, warn
from revsim.cli.terminal import echo
from revsim.errors import Problem, ScenarioError, clip


@click.command()
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
@apply_options(replication_options)
@apply_options([*state_options, by_opt])
@parameter_uncertainty_opt
@out_dir_opt
@plots_opt
@raw_csv_opt
@handles_errors
def compare(base: str, variant_files: tuple[str, ...], overrides: tuple[str, ...],
            hires: tuple[str, ...], respond_first: tuple[str, ...],
            route_by_value: tuple[str, ...], automate: tuple[str, ...], terms: tuple[str, ...],
            dunning: tuple[str, ...], conversion: tuple[str, ...], replications: int, seed: int,
            horizon: str | None, warmup: str | None, jobs: int, scheduler: str | None,
            dask_local: int | None, dask_dashboard: bool, progress: bool | None,
            state: str | None, until: str | None, force_warmup: bool, by: str | None,
            parameter_uncertainty: bool | None, out: str | None, plots: str | None) -> None:
    """Compare BASE with variants (files, --set overrides or named RevOps changes).

    Every variant runs with the same seeds as the base (common random numbers); differences
    come with paired 95% CIs, Holm-adjusted across variants. With --state every side starts
    from the same snapshot; --by adds the paired differences of each period's figures.
    """
    sc = load_scenario(base)
    warn(sc)
    variants = command_line_variants(sc, variant_files, overrides, hires, respond_first,
                                     route_by_value, automate, terms, dunning, conversion)
    if not variants:
        raise ScenarioError([Problem("variants", "nothing to compare: give variant files, "
                                     "--set, or a named change such as --hire ae=1")], "compare")
    comparison = sc.compare(*variants, replications=replications, seed=seed, horizon=horizon,
                            warmup=warmup, jobs=jobs, scheduler=scheduler,
                            dask_local=dask_local, dask_dashboard=dask_dashboard,
                            progress=progress, parameter_uncertainty=parameter_uncertainty,
                            state=state, until=until, by=by, force_warmup=force_warmup)
    echo(comparison.format())
    write_outputs(comparison, out, plots)


def command_line_variants(sc: Scenario, files: tuple[str, ...], overrides: tuple[str, ...],
                          hires: tuple[str, ...], respond_first: tuple[str, ...],
                          route_by_value: tuple[str, ...], automate: tuple[str, ...],
                          terms: tuple[str, ...], dunning: tuple[str, ...],
                          conversion: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Every variant asked for on the command line, as (label, scenario or changes)."""
    variants: list[tuple[str, Any]] = []
    for path in files:
        other = load(path)
        variants.append((Path(path).stem, other))
    for item in overrides:
        changes = parse_overrides(tuple(part for part in item.split(";") if part.strip()))
        variants.append((item, changes))
    problems: list[Problem] = []

    def split(text: str, sep: str, option: str) -> tuple[str, str]:
        left, found, right = text.partition(sep)
        if not found or not left.strip() or not right.strip():
            problems.append(Problem(option, f"expected A{sep}B, got {clip(repr(text))}"))
            return "", ""
        return left.strip(), right.strip()

    raw = sc.raw
    for item in hires:
        pool, count = split(item, "=", "--hire")
        if not pool:
            continue
        count, _, date = count.partition("@")
        if not (count.strip().isascii() and count.strip().isdigit()):
            problems.append(Problem("--hire", f"expected POOL=N[@YYYY-MM-DD], got "
                                    f"{clip(repr(item))}"))
            continue
        variants.append(iv.hire(raw, pool, int(count), date.strip() or None))
    variants += [iv.respond_first(raw, stage) for stage in respond_first]
    variants += [iv.route_by_value(raw, stage) for stage in route_by_value]
    for item in automate:
        stage, pct = split(item, "=", "--automate")
        if stage:
            try:
                percent = float(pct.rstrip("%"))
            except ValueError:
                problems.append(Problem("--automate", f"expected STAGE=PERCENT, got "
                                        f"{clip(repr(item))}"))
                continue
            variants.append(iv.automate(raw, stage, percent))
    for item in terms:
        value, _, segment = item.partition("@")
        variants.append(iv.payment_terms(raw, value.strip(), segment.strip() or None))
    for item in dunning:
        variants.append(iv.dunning(raw, [r.strip() for r in item.split(",") if r.strip()]))
    for item in conversion:
        route, change = split(item, "=", "--conversion")
        stage, dot, target = route.partition(".")
        if route and not dot:
            problems.append(Problem("--conversion", f"expected STAGE.TARGET=+10%, got "
                                    f"{clip(repr(item))}"))
        elif route:
            variants.append(iv.raise_conversion(raw, stage, target, change))
    if problems:
        raise ScenarioError(problems, "compare")
    return variants
