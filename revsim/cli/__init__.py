"""The ``revsim`` command: a thin click layer over the Python API, one module per command.

Bad input (a scenario, a flag, a path) ends with one line per problem on stderr and exit code 2,
never a traceback; an interrupted run exits 130 and leaves no half-written file; a system
failure after the input was accepted (a full disk, a lost connection) exits 1 with a clean
message (see :mod:`revsim.cli.exits`).

Start-up stays fast: this module imports click and revsim's light modules only. A command's
module, and the API under it, is imported when that command runs, so ``revsim --help`` and
``revsim --version`` load no numpy, scipy or pandas (tests/test_startup.py checks it).
"""

from __future__ import annotations

import click

from revsim.cli.lazy_group import LazyCommand, LazyGroup
from revsim.cli.options import version_opt

COMMANDS: dict[str, LazyCommand] = {
    "backtest": LazyCommand(
        "revsim.cli.backtest",
        "Simulate SCENARIO over LOG's period and compare its KPIs with the log's."),
    "bottlenecks": LazyCommand(
        "revsim.cli.bottlenecks",
        "Find the bottleneck of SCENARIO and value one more head in each pool."),
    "compare": LazyCommand(
        "revsim.cli.compare",
        "Compare BASE with variants (files, --set overrides or named RevOps changes)."),
    "forecast": LazyCommand(
        "revsim.cli.forecast",
        "Forecast bookings and cash per period from a STATE of open deals and invoices."),
    "fit": LazyCommand(
        "revsim.cli.fit",
        "Fit a scenario to an event LOG (CRM/billing export) and write it with its evidence."),
    "optimize": LazyCommand(
        "revsim.cli.optimize",
        "Run (or resume) a sweep of BASE into -o and pick its best point under --budget."),
    "report": LazyCommand(
        "revsim.cli.report",
        "Write a self-contained HTML report (KPIs, plots, how to reproduce) of RESULTS_DIR."),
    "run": LazyCommand(
        "revsim.cli.run",
        "Run SCENARIO (a TOML file) and print its KPIs, each with mean, 95% CI and n."),
    "schema": LazyCommand(
        "revsim.cli.schema",
        "Print the JSON Schema of scenario files (for editor completion and checking)."),
    "state": LazyCommand(
        "revsim.cli.state",
        "Build the state at --as-of (open deals, invoices, customers) from an event LOG."),
    "sweep": LazyCommand(
        "revsim.cli.sweep",
        "Run BASE at every point of a design (flags or SWEEP_FILE) with common random numbers."),
    "validate": LazyCommand(
        "revsim.cli.validate",
        "Check scenario FILES without running them; report every problem at once."),
}
"""Every command: its module (imported when it runs) and its help's first paragraph."""


@click.group(cls=LazyGroup, lazy_commands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@version_opt
def main() -> None:
    """Simulate a revenue cycle (lead to cash) and read its KPIs with confidence intervals."""
