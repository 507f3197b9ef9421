"""`revsim run` statistics options from the command line: auto warm-up, precision, batch means,
plots."""

from pathlib import Path

from click.testing import CliRunner

from revsim.cli import main

SCENARIO = """
[scenario]
name = "one station"
start = 2027-01-04
horizon = "1500 h"

[sources.web]
rate = "2/h"
to = "work"

[pools.staff]
headcount = 3

[stages.work]
pool = "staff"
work = { dist = "exponential", mean = "1 h" }
routes = { won = 0.3, lost = 0.7 }
"""


def _file(tmp_path: Path) -> str:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    return str(path)


def test_warmup_auto_reports_the_chosen_point(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", _file(tmp_path), "-n", "4", "--warmup", "auto",
                                       "-q", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "MSER-5 warm-up" in result.stderr
    manifest = (tmp_path / "out" / "manifest.json").read_text()
    assert '"warmup_auto"' in manifest


def test_precision_reports_replications_used(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", _file(tmp_path), "-n", "3", "--precision", "0.2",
                                       "--max-replications", "30", "-q"])
    assert result.exit_code == 0, result.output
    assert "precision 20%: met after" in result.stderr


def test_batch_means_reports_the_method(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", _file(tmp_path), "--batch-means", "10"])
    assert result.exit_code == 0, result.output
    assert "batch means: one run cut into 10 batches" in result.stderr
    assert "10 replications" in result.stdout  # each batch is summarised as a replication


def test_plots_are_written(tmp_path: Path) -> None:
    out = tmp_path / "plots"
    result = CliRunner().invoke(main, ["run", _file(tmp_path), "-n", "2", "-q",
                                       "--plots", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"funnel.png", "funnel.svg", "utilisation.png", "stage_time.png"} <= names


def test_bad_precision_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", _file(tmp_path), "--precision", "1.5"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
