"""``revsim state``: what is in flight at a date (open deals, invoices, customers), from a log."""

from __future__ import annotations

import click

from revsim.cli.exits import echo_err, handles_errors
from revsim.cli.options import date_format_opt, format_opt, mapping_opt
from revsim.cli.output import OUT_DIR
from revsim.cli.terminal import echo
from revsim.state_api import build_state


@click.command()
@click.argument("log", type=click.Path(dir_okay=False))
@format_opt
@mapping_opt
@date_format_opt
@click.option("--as-of", "as_of", required=True, metavar="DATE",
              help="The date (or time) of the snapshot; only events until then are used.")
@click.option("--scenario", required=True, type=click.Path(dir_okay=False),
              help="The scenario the snapshot is to start (its stages, pools, contracts).")
@click.option("-o", "--out", "--output", "output", required=True, type=OUT_DIR,
              help="Write the snapshot folder (manifest.json and one CSV per table) here.")
@handles_errors
def state(log: str, log_format: str, mapping: str | None, date_format: str | None, as_of: str,
          scenario: str, output: str) -> None:
    """Build the state at --as-of (open deals, invoices, customers) from an event LOG.

    LOG is read as `revsim fit` reads it (--format, --mapping, --date-format). Items that the scenario or
    the log say are over (e.g. waiting past the stage's patience) are counted by reason,
    listed in the folder's dead_items.csv and left out of the open items.
    """
    snapshot = build_state(log, scenario=scenario, as_of=as_of, mapping=mapping,
                           format=log_format, out=output, date_format=date_format)
    for note in snapshot.notes:
        echo_err(f"note: {note}")
    echo(snapshot.describe())
    echo_err(f"wrote the snapshot to {output}")
