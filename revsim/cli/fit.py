"""``revsim fit``: a scenario fitted to an event log, with its evidence."""

from __future__ import annotations

import click

from revsim.calibrate.draws import DEFAULT_DRAWS
from revsim.calibrate.fit_log import fit as fit_log
from revsim.calibrate.fitted import excluded_text
from revsim.cli.exits import echo_err, handles_errors
from revsim.cli.options import (
    as_of_opt,
    date_format_opt,
    duration_flag,
    encoding_opt,
    format_opt,
    mapping_opt,
    progress_opt,
    raw_csv_opt,
)
from revsim.cli.output import OUT_DIR, OUT_FILE


@click.command()
@click.argument("log", type=click.Path(dir_okay=False))
@format_opt
@mapping_opt
@as_of_opt
@encoding_opt
@date_format_opt
@click.option("-o", "--out", "--output", "output", required=True, type=OUT_FILE,
              help="Write the fitted scenario (TOML) here.")
@click.option("--report", "report_dir", type=OUT_DIR,
              help="Write the fit report (tables, KM/QQ plots, summary.md) to this folder.")
@click.option("--name", help="Scenario name.")
@click.option("--stale-after", "stale_after", metavar="DURATION",
              callback=duration_flag(positive=True),
              help="Treat a journey still open at the as-of time whose last event is more than "
              "DURATION before it (e.g. \"90 d\") as lost at its last event + DURATION "
              "(disqualified if it never became an opportunity); the report counts them.")
@click.option("--bootstrap", "draws", type=click.IntRange(min=0), default=DEFAULT_DRAWS,
              show_default=True, metavar="N",
              help="Bootstrap draws of the fitted parameters, written beside the scenario "
              "(NAME.draws.json) for --parameter-uncertainty; 0 writes none.")
@progress_opt
@raw_csv_opt
@handles_errors
def fit(log: str, log_format: str, mapping: str | None, as_of: str | None,
        encoding: str | None, date_format: str | None, output: str, report_dir: str | None,
        name: str | None, draws: int, progress: bool | None, stale_after: str | None) -> None:
    """Fit a scenario to an event LOG (CRM/billing export) and write it with its evidence."""
    fitted = fit_log(log, mapping=mapping, as_of=as_of, format=log_format, name=name,
                     progress=progress, encoding=encoding, date_format=date_format,
                     stale_after=stale_after)
    echo_err(fitted.log.describe())
    echo_err(f"  {excluded_text(fitted.excluded)}")
    for warning in fitted.warnings:
        echo_err(f"warning: {warning}")
    fitted.model()  # the file must load before it is written; raises with every problem if not
    fitted.write(output, draws=draws, progress=progress)
    if fitted.draws is not None:
        echo_err(f"wrote {fitted.draws.describe()} to {fitted.draws.path}")
    echo_err(f"wrote the fitted scenario to {output}")
    for note in fitted.notes:
        echo_err(f"note: {note}")
    if report_dir:
        written = fitted.write_report(report_dir)
        echo_err(f"wrote {len(written)} report files to {report_dir}")
