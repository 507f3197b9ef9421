"""The sweep store verifies what it reads: a part that is truncated, empty, altered or of the
wrong shape is named in one line on stderr and its task recomputed, and the final tables are
byte-identical to an undisturbed sweep's; stray files are ignored with a notice; two sweeps on
one store do not mix (a lock); a sweep killed at any write resumes to the same bytes; a full
disk ends in a clean error."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import sweep_scenario

from revsim.cli import main
from revsim.experiment.lock import LOCK_NAME

POINTS, REPS = 2, 2
TASKS = POINTS * REPS
TABLES = ("results.parquet", "summary.parquet")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store_faults")
    (path / "base.toml").write_text(sweep_scenario("store faults", horizon="2 w"))
    return path


def sweep_args(folder: Path, out: Path, *extra: str) -> list[str]:
    return ["sweep", str(folder / "base.toml"), "--param", "pools.sdr.headcount=2:3",
            "-n", str(REPS), "--seed", "5", "-j", "1", "--no-progress", "-o", str(out), *extra]


@pytest.fixture(scope="module")
def reference(folder: Path) -> Path:
    out = folder / "reference"
    done = CliRunner().invoke(main, sweep_args(folder, out))
    assert done.exit_code == 0, done.output
    return out


def parts(out: Path) -> list[Path]:
    return sorted(out.glob("parts/*/*.json"))


def leftovers(out: Path) -> list[str]:
    """Temporary files, staging folders and locks anywhere in the folder."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")
                  if p.name.startswith(".") or p.name.endswith(".part"))


def assert_same_tables(out: Path, reference: Path) -> None:
    for name in TABLES:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def copy_of(reference: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(reference, out)
    for name in TABLES:  # a resume must write them again, from the parts
        (out / name).unlink()
    return out


def resume(folder: Path, out: Path):
    return CliRunner().invoke(main, sweep_args(folder, out, "--resume"))


def corrupt(path: Path, how: str, other: Path) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "flipped":  # one digit of one value changed: still valid JSON
        i = data.index(b'"count", ') + len(b'"count", ')
        path.write_bytes(data[:i] + bytes([(data[i] - 48 + 1) % 10 + 48]) + data[i + 1:])
    elif how == "wrong_shape":
        path.write_text(json.dumps({"rows": [["won", "total", "", "count"]]}))
    elif how == "other_task":  # a whole, valid part, of another task
        path.write_bytes(other.read_bytes())
    elif how == "old_format":  # a bare list of rows, as revsim wrote before checksums
        path.write_text(json.dumps(json.loads(data)["rows"]))
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("listed", [True, False], ids=["in manifest", "saved after it"])
@pytest.mark.parametrize("how", ["truncated", "empty", "flipped", "wrong_shape", "other_task",
                                 "old_format"])
def test_a_damaged_part_is_named_and_recomputed(folder, reference, tmp_path, how,
                                                listed) -> None:
    out = copy_of(reference, tmp_path)
    victim, other = parts(out)[1], parts(out)[2]
    corrupt(victim, how, other)
    if not listed:  # a part saved after the manifest was last written has no listed sum
        manifest = json.loads((out / "manifest.json").read_text())
        del manifest["parts"][f"{victim.parent.name}/{victim.name}"]
        (out / "manifest.json").write_text(json.dumps(manifest))
    done = resume(folder, out)
    assert done.exit_code == 0, done.output
    warnings = [line for line in done.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(victim) in warnings[0], done.output
    assert "Traceback" not in done.output and "JSONDecodeError" not in done.output
    assert f"ran 1 tasks, {TASKS - 1} already done" in done.output
    assert_same_tables(out, reference)
    assert victim.read_bytes() == (reference / victim.relative_to(out)).read_bytes()
    assert leftovers(out) == []


def test_stray_files_in_a_sweep_folder_are_ignored_with_a_notice(folder, reference,
                                                                 tmp_path) -> None:
    out = copy_of(reference, tmp_path)
    point = parts(out)[0].parent
    (point / "notes.json").write_text("my notes")
    (point / "000099.json").mkdir()  # a folder named like a part
    (out / "parts" / "README.txt").write_text("hello")
    (out / "failed").mkdir()
    (out / "failed" / "junk.json").write_text("{not json")
    (out / "mine.csv").write_text("a,b\n")
    done = resume(folder, out)
    assert done.exit_code == 0, done.output
    assert f"notice: {point / 'notes.json'} is not a part revsim wrote; ignored" in done.output
    assert f"notice: {point / '000099.json'} is not a part" in done.output
    assert f"warning: {out / 'failed' / 'junk.json'} is not a failure record" in done.output
    assert f"ran 0 tasks, {TASKS} already done" in done.output
    assert_same_tables(out, reference)
    report = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r.html")])
    assert report.exit_code == 0, report.output
    assert f"notice: {out / 'mine.csv'} is not named by any manifest" in report.output
    assert "mine.csv" in (tmp_path / "r.html").read_text()


def test_report_refuses_an_altered_sweep_table(reference, tmp_path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(reference, out)
    data = (out / "summary.parquet").read_bytes()
    (out / "summary.parquet").write_bytes(data[:-10] + bytes(10))
    done = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r.html")])
    assert done.exit_code == 2, done.output
    assert "summary.parquet: does not match its checksum" in done.output
    assert "Traceback" not in done.output


# -- one sweep per store -------------------------------------------------------------------------
def write_lock(out: Path, pid: int, host: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(),
                                             "started": "2027-01-04T00:00:00+00:00"}))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_second_sweep_on_a_busy_store_is_refused(folder, reference, tmp_path) -> None:
    """A real sweep holds the store; a second one gets a clear error and changes nothing;
    once the first is killed its lock is stale and a resume takes it over."""
    big = tmp_path / "big.toml"
    big.write_text(sweep_scenario("busy store", horizon="52 w", rate="400/w", headcount=12))
    out = tmp_path / "busy"
    args = ["sweep", str(big), "--param", "pools.sdr.headcount=10:12", "-n", "20", "--seed",
            "1", "-j", "1", "--no-progress", "-o", str(out)]
    first = subprocess.Popen([sys.executable, "-m", "revsim.cli", *args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not parts(out) and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        assert first.poll() is None and parts(out), "the first sweep did not get going"
        second = CliRunner().invoke(main, [*args, "--resume"])
        assert second.exit_code == 2, second.output
        assert second.output.startswith("error: ") and "Traceback" not in second.output
        assert f"in use by process {first.pid} on host {socket.gethostname()}" in second.output
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    lock = json.loads((out / LOCK_NAME).read_text())
    assert lock["pid"] == first.pid  # the killed sweep's lock is still there: stale
    saved = len(parts(out))
    # another spec (one replication: quick): the stale lock is taken, the folder checked under
    # it and refused, the lock given back
    changed = list(args)
    changed[changed.index("-n") + 1] = "1"
    done = CliRunner().invoke(main, [*changed, "--resume"])
    assert done.exit_code == 2, done.output
    assert f"took over the lock of process {first.pid}" in done.output
    assert "different sweep" in done.output
    assert len(parts(out)) == saved and not (out / LOCK_NAME).exists()


def test_a_stale_lock_is_taken_over_with_a_notice(folder, reference, tmp_path) -> None:
    out = copy_of(reference, tmp_path)
    pid = dead_pid()
    write_lock(out, pid)
    done = resume(folder, out)
    assert done.exit_code == 0, done.output
    assert f"took over the lock of process {pid} on host {socket.gethostname()}" in done.output
    assert_same_tables(out, reference)
    assert leftovers(out) == []


@pytest.mark.parametrize("owner", ["live", "other host", "unreadable"])
def test_a_held_lock_refuses_cleanly(folder, reference, tmp_path, owner) -> None:
    out = copy_of(reference, tmp_path)
    if owner == "unreadable":
        (out / LOCK_NAME).write_text("{")
    else:
        write_lock(out, os.getppid(), None if owner == "live" else "elsewhere.example")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    done = resume(folder, out)
    assert done.exit_code == 2, done.output
    assert done.output.startswith("error: ") and "Traceback" not in done.output
    assert str(out) in done.output and "in use by" in done.output
    if owner != "live":
        assert f"delete {out / LOCK_NAME}" in done.output or "delete the lock" in done.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


# -- killed at any write --------------------------------------------------------------------------
KILLER = """\
import os, signal, sys
import revsim.experiment.store as store
at, store.FLUSH_EVERY_S, real, count = int(sys.argv[1]), float(sys.argv[2]), os.replace, [0]

def replace(src, dst):  # SIGKILL just before the at-th rename: its temporary file is written
    count[0] += 1
    if count[0] == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst)

os.replace = replace
from revsim.cli import main
main(sys.argv[3:])
"""
# -j 1, the manifest's checksums written once at the end: the manifest, 4 parts, the
# checksums, 2 tables, the tables' checksums; written after every part: 4 more
RENAMES = {"at the end": 1 + TASKS + 1 + len(TABLES) + 1,
           "after every part": 1 + 2 * TASKS + len(TABLES) + 1}
KILLS = [(when, at) for when, n in RENAMES.items() for at in range(1, n + 1)]


@pytest.mark.parametrize("when, at", KILLS, ids=[f"{w}-{a}" for w, a in KILLS])
def test_killed_at_any_write_resumes_to_identical_tables(folder, reference, tmp_path,
                                                         when, at) -> None:
    out = tmp_path / "killed"
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    every = "0" if when == "after every part" else "1e9"
    proc = subprocess.run([sys.executable, str(killer), str(at), every,
                           *sweep_args(folder, out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert out.is_dir()
    if at == RENAMES[when]:  # all written but the tables' checksums: readable unchecked
        report = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r.html")])
        assert report.exit_code == 0, report.output
    done = resume(folder, out)
    assert done.exit_code == 0, done.output
    assert "warning" not in done.output, done.output  # a kill never damages a part
    assert_same_tables(out, reference)
    assert [p.relative_to(out) for p in parts(out)] == \
        [p.relative_to(reference) for p in parts(reference)]
    assert leftovers(out) == []


def test_a_full_disk_during_a_sweep_is_a_clean_error(folder, reference, tmp_path,
                                                     monkeypatch) -> None:
    out = tmp_path / "full"
    real, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 4:  # the manifest and a part or two are written; then the disk fills
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr("os.fsync", fsync)
    done = CliRunner().invoke(main, sweep_args(folder, out))
    monkeypatch.undo()
    assert done.exit_code == 2, done.output
    assert done.output.startswith("error: ") and "Traceback" not in done.output
    assert "no space left" in done.output and str(out) in done.output
    assert leftovers(out) == [], "a temporary file or the lock was left behind"
    again = resume(folder, out)
    assert again.exit_code == 0, again.output
    assert_same_tables(out, reference)
