"""A command's output folder never holds two runs' files mixed: `revsim run -o` over an earlier
run, killed before any of its renames, leaves the earlier run whole or a folder that `revsim
report` refuses; running it again gives the clean run's bytes. Files that no manifest names are
left alone by writers and marked by the report."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import sweep_scenario

from revsim.cli import main

DATA = ("kpis.csv", "scenario.toml", "series.csv", "summary.csv")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("output_folders") / "base.toml"
    path.write_text(sweep_scenario("output folders"))
    return path


def run_args(base: Path, out: Path, seed: int, *extra: str) -> list[str]:
    return ["run", str(base), "-n", "2", "-j", "1", "--seed", str(seed), "-q", "-o", str(out),
            *extra]


def data(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in DATA if (out / n).exists()}


@pytest.fixture(scope="module")
def runs(base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, bytes]]:
    """The data files of clean runs with seeds 3 and 4."""
    found = {}
    for seed in (3, 4):
        out = tmp_path_factory.mktemp(f"seed{seed}") / "out"
        done = CliRunner().invoke(main, run_args(base, out, seed))
        assert done.exit_code == 0, done.output
        found[seed] = data(out)
        assert set(found[seed]) == set(DATA)
    assert found[3] != found[4]
    return found


KILLER = """\
import os, signal, sys
at, real, count = int(sys.argv[1]), os.replace, [0]

def replace(src, dst):  # SIGKILL just before the at-th rename
    count[0] += 1
    if count[0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst)

os.replace = replace
from revsim.cli import main
main(sys.argv[2:])
"""
# staging the four files, the pending note, moving the four in, the manifest
RENAMES = len(DATA) + 1 + len(DATA) + 1


@pytest.mark.parametrize("at", range(1, RENAMES + 1))
def test_a_killed_run_never_leaves_two_runs_mixed(base, runs, tmp_path, at) -> None:
    out = tmp_path / "out"
    assert CliRunner().invoke(main, run_args(base, out, 3)).exit_code == 0
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    proc = subprocess.run([sys.executable, str(killer), str(at), *run_args(base, out, 4)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = data(out)
    report = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r.html")])
    if report.exit_code == 0:  # the folder claims to be a run: then it is one, whole
        assert left == runs[3], f"killed before rename {at}: the report read a mixed folder"
        assert at <= len(DATA) + 1, "the old run should be gone once the swap began"
    else:
        assert report.exit_code == 2 and report.output.startswith("error: "), report.output
        assert "Traceback" not in report.output
        assert left in ({n: b for n, b in runs[3].items() if n in left},
                        {n: b for n, b in runs[4].items() if n in left}), \
            "files of both runs in one folder"
    again = CliRunner().invoke(main, run_args(base, out, 4))
    assert again.exit_code == 0, again.output
    assert data(out) == runs[4]
    assert sorted(p.name for p in out.iterdir()) == sorted([*DATA, "manifest.json"]), \
        "a staging folder, pending note or temporary file was left behind"


def test_files_no_manifest_names_are_kept_and_marked(base, runs, tmp_path) -> None:
    out = tmp_path / "out"
    assert CliRunner().invoke(main, run_args(base, out, 3, "--records")).exit_code == 0
    assert (out / "visits.csv").exists()
    (out / "notes.txt").write_text("mine")
    (out / "old-plots").mkdir()
    assert CliRunner().invoke(main, run_args(base, out, 4)).exit_code == 0
    assert data(out) == runs[4]
    assert not (out / "visits.csv").exists(), "the earlier run's visits.csv was left behind"
    assert (out / "notes.txt").read_text() == "mine" and (out / "old-plots").is_dir()
    report = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r.html")])
    assert report.exit_code == 0, report.output
    assert f"notice: {out / 'notes.txt'} is not named by any manifest" in report.output
    assert "old-plots" not in report.output  # a folder inside is the user's business
    assert "Not part of these results, and not read: notes.txt." in \
        (tmp_path / "r.html").read_text()


def test_a_folder_of_an_older_revsim_is_replaced_whole(base, runs, tmp_path) -> None:
    """Manifests without a file list (revsim before checksums) own the run's usual names."""
    out = tmp_path / "out"
    assert CliRunner().invoke(main, run_args(base, out, 3, "--records")).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["files"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r.html")]
                              ).exit_code == 0
    assert CliRunner().invoke(main, run_args(base, out, 4)).exit_code == 0
    assert data(out) == runs[4] and not (out / "visits.csv").exists()


def test_an_interrupted_extra_is_refused_by_the_report(base, tmp_path) -> None:
    """Bottleneck files without their manifest are an interrupted `revsim bottlenecks -o`."""
    out = tmp_path / "out"
    assert CliRunner().invoke(main, run_args(base, out, 3)).exit_code == 0
    (out / "bottleneck_pools.csv").write_text("pool\nsdr\n")
    report = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r.html")])
    assert report.exit_code == 2, report.output
    assert "bottleneck_pools.csv: has no bottlenecks_manifest.json" in report.output


def test_a_run_into_a_sweep_folder_is_refused(base, tmp_path) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", str(base), "--param", "pools.sdr.headcount=2:3", "-n", "1", "-j", "1",
            "--no-progress", "-o", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    done = CliRunner().invoke(main, run_args(base, out, 3))
    assert done.exit_code == 2, done.output
    assert "holds a sweep" in done.output and "Traceback" not in done.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_plots_of_two_runs_are_never_mixed(base, tmp_path) -> None:
    """A plots folder is replaced as a whole: a plot the new run does not draw is removed; plots
    written into the results folder belong to it (the report checks them, marks nothing)."""
    out = tmp_path / "out"
    assert CliRunner().invoke(main, [*run_args(base, out, 3), "--plots", str(out)]
                              ).exit_code == 0
    manifest = json.loads((out / "plots_manifest.json").read_text())
    assert "funnel.png" in manifest["files"]
    (out / "queue_gone.png").write_bytes(b"an earlier run's plot")
    manifest["files"]["queue_gone.png"] = "0" * 64
    (out / "plots_manifest.json").write_text(json.dumps(manifest))
    report = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r.html")])
    assert report.exit_code == 2 and "queue_gone.png: does not match its checksum" in \
        report.output, report.output
    assert CliRunner().invoke(main, [*run_args(base, out, 4), "--plots", str(out)]
                              ).exit_code == 0
    assert not (out / "queue_gone.png").exists()
    report = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r.html")])
    assert report.exit_code == 0, report.output
    assert "notice" not in report.output
