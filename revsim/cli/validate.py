"""``revsim validate``: scenario files checked without running them."""

from __future__ import annotations

import sys

import click

from revsim.api import load
from revsim.cli.exits import EXIT_INPUT, echo_err, handles_errors
from revsim.cli.options import set_opt
from revsim.cli.scenario_input import parse_overrides, warn
from revsim.cli.terminal import echo
from revsim.errors import ScenarioError


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@set_opt
@handles_errors
def validate(files: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Check scenario FILES without running them; report every problem at once."""
    failed = 0
    for path in files:
        try:
            sc = load(path)
            if overrides:
                sc = sc.with_changes(parse_overrides(overrides))
            draws = sc.parameter_draws
        except ScenarioError as err:
            failed += 1
            for line in err.lines():
                echo_err(f"error: {line}")
            continue
        warn(sc)
        m = sc.model
        echo(
            f"{path}: ok ({len(m.sources)} sources, {len(m.pools)} pools, "
            f"{len(m.stages)} stages{f', {draws.describe()}' if draws is not None else ''})"
        )
    if failed:
        echo_err(f"{failed} of {len(files)} file{'s' if len(files) != 1 else ''} invalid.")
        sys.exit(EXIT_INPUT)
