"""``revsim report``: a self-contained HTML report of a results folder."""

from __future__ import annotations

from pathlib import Path

import click
import matplotlib

from revsim.cli.exits import echo_err, handles_errors
from revsim.cli.output import OUT_FILE, unwritable
from revsim.report import read_results, write_report


@click.command()
@click.argument("results_dir", type=click.Path())
@click.option("-o", "--out", "--output", "output", type=OUT_FILE,
              help="Write the report here (default: RESULTS_DIR/report.html).")
@handles_errors
def report(results_dir: str, output: str | None) -> None:
    """Write a self-contained HTML report (KPIs, plots, how to reproduce) of RESULTS_DIR.

    RESULTS_DIR is a folder written by `revsim run -o`, optionally with the files of
    `revsim bottlenecks -o` and `revsim compare -o` beside them, or by `revsim sweep -o`.
    """
    if output is None and Path(results_dir).is_dir():
        problem = unwritable(Path(results_dir) / "report.html", folder=False)
        if problem:
            raise click.BadParameter(f"{problem}, or write the report elsewhere with -o",
                                     param_hint="RESULTS_DIR")
    matplotlib.use("Agg")  # files only: never open a window
    results = read_results(results_dir)
    for name in results.foreign:
        echo_err(f"notice: {results.path / name} is not named by any manifest in the folder; "
                 "it is not part of these results and was not read")
    path = write_report(results, output)
    echo_err(f"wrote the report to {path}")
