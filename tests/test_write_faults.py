"""Writes that fail (a full disk, a read-only file system, a path under a file) end in one clean
error naming the path (exit 2 from the CLI, no traceback) and leave no partial file behind; and
every write in revsim goes through the atomic helpers of revsim.io."""

from __future__ import annotations

import ast
import errno
import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from revsim.cli import main
from revsim.io import OutputError, write_bytes, write_csv, write_text

ROOT = Path(__file__).resolve().parent.parent


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def fail_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return fail


@pytest.mark.parametrize("call", ["os.write", "os.fsync"])
def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch, call) -> None:
    target = tmp_path / "kpis.csv"
    target.write_text("old\n")
    monkeypatch.setattr(call, fail_with(errno.ENOSPC))
    with pytest.raises(OutputError) as caught:
        write_text(target, "new\n" * 1000)
    assert str(target) in str(caught.value)
    assert "no space left" in str(caught.value)
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert files_in(tmp_path) == {"kpis.csv": b"old\n"}, "a temporary file was left behind"


def test_a_full_disk_while_pandas_writes_a_table(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("os.fsync", fail_with(errno.ENOSPC))
    with pytest.raises(OutputError, match="no space left"):
        write_csv(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.csv")
    monkeypatch.undo()
    assert files_in(tmp_path) == {}


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only"),
                                         (errno.EACCES, "permission denied")])
def test_an_unwritable_folder_names_the_file(tmp_path, monkeypatch, code, words) -> None:
    # as root a chmod'ed folder is still writable, so the refusal comes from os.open itself
    monkeypatch.setattr("os.open", fail_with(code))
    with pytest.raises(OutputError, match=words) as caught:
        write_bytes(tmp_path / "x.json", b"{}")
    assert str(tmp_path / "x.json") in str(caught.value)
    monkeypatch.undo()
    assert files_in(tmp_path) == {}


def test_a_path_under_a_file_names_it(tmp_path) -> None:
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        write_text(tmp_path / "plain" / "out.txt", "x")


def invoke(args: list[str]):
    return CliRunner().invoke(main, args)


def assert_clean_error(done, *needles: str) -> None:
    assert done.exit_code == 2, (done.exit_code, done.output)
    assert "Traceback" not in done.output
    # the run's own warnings (a scenario without deal values) may come first
    told = [line for line in done.output.splitlines() if not line.startswith("warning: ")]
    assert told and told[0].startswith("error: "), done.output
    for needle in needles:
        assert needle in done.output, done.output


def test_schema_output_is_atomic_and_fails_cleanly(tmp_path, monkeypatch) -> None:
    target = tmp_path / "schema.json"
    assert invoke(["schema", "-o", str(target)]).exit_code == 0
    good = target.read_bytes()
    monkeypatch.setattr("os.write", fail_with(errno.ENOSPC))
    assert_clean_error(invoke(["schema", "-o", str(target)]), str(target), "no space left")
    monkeypatch.undo()
    assert files_in(tmp_path) == {"schema.json": good}


@pytest.mark.parametrize("fail_at", [2, 7], ids=["while staging", "while swapping in"])
def test_a_run_that_fills_the_disk_never_mixes_two_runs(tmp_path, monkeypatch, scenario_file,
                                                        fail_at) -> None:
    """Staging writes summary, kpis, series and scenario.toml (renames 1-4), then the pending
    note (5); the swap moves the four files in (6-9) and writes the manifest (10)."""
    from conftest import sweep_scenario

    base = scenario_file(sweep_scenario("write faults"))
    out = tmp_path / "out"
    args = ["run", str(base), "-n", "2", "-j", "1", "-q", "-o", str(out)]
    assert invoke([*args, "--seed", "3"]).exit_code == 0
    before = files_in(out)
    renames = []
    real = os.replace

    def replace_until_full(src, dst):
        renames.append(dst)
        if len(renames) >= fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst)

    monkeypatch.setattr("os.replace", replace_until_full)
    assert_clean_error(invoke([*args, "--seed", "4"]), "no space left")
    monkeypatch.undo()
    left = files_in(out)
    assert not [n for n in left if n.startswith(".revsim-staging") or n.endswith(".part")], left
    if fail_at <= 5:  # nothing of the old run was touched yet
        assert left == before
    else:  # the old run went first, manifest and all: what is left is the new run's part
        assert "manifest.json" not in left
        assert set(left) - {".manifest.json.pending"} == {"kpis.csv"}
        assert left["kpis.csv"] != before["kpis.csv"]
        assert_clean_error(invoke(["report", str(out)]), "interrupted")
    assert invoke([*args, "--seed", "3"]).exit_code == 0
    after = files_in(out)
    assert {n: b for n, b in after.items() if n != "manifest.json"} == \
        {n: b for n, b in before.items() if n != "manifest.json"}


# -- every write is atomic ---------------------------------------------------------------------
WRITERS = {"to_csv", "to_parquet", "savefig", "to_json", "to_excel", "to_html", "to_pickle",
           "write_text", "write_bytes", "dump"}


def unsafe_writes(path: Path) -> list[str]:
    """Writes in a module that bypass revsim.io: a file opened for writing, a Path's own
    write_text/write_bytes, or a writer (to_csv, savefig, ...) whose target is not the
    temporary path of an ``atomic_path`` block."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    atomic_names = {item.optional_vars.id for node in ast.walk(tree)
                    if isinstance(node, ast.With) for item in node.items
                    if isinstance(item.context_expr, ast.Call)
                    and getattr(item.context_expr.func, "id", "") == "atomic_path"
                    and isinstance(item.optional_vars, ast.Name)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        where = f"{path.name}:{node.lineno}"
        if isinstance(func, ast.Name) and func.id == "open":
            modes = [a for a in node.args[1:2]] + [k.value for k in node.keywords
                                                     if k.arg == "mode"]
            if any(isinstance(m, ast.Constant) and set(str(m.value)) & set("wax+")
                   for m in modes):
                found.append(f"{where}: open(..., {ast.unparse(modes[0])})")
        elif isinstance(func, ast.Attribute) and func.attr in WRITERS:
            target = node.args[0] if node.args else None
            if func.attr in ("write_text", "write_bytes", "dump") or not (
                    isinstance(target, ast.Name) and target.id in atomic_names):
                found.append(f"{where}: .{func.attr}({ast.unparse(target) if target else ''})")
    return found


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "revsim").rglob("*.py")
                                        if p.name != "io.py" or p.parent.name != "revsim"),
                         ids=lambda p: str(p.relative_to(ROOT / "revsim")))
def test_every_write_goes_through_revsim_io(path: Path) -> None:
    assert unsafe_writes(path) == [], "write through revsim.io (write_text, write_csv, " \
        "atomic_path, output_set) so that no half-written file is ever left"


def test_the_write_check_finds_unsafe_writes(tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('open(p, "w")\nPath(p).write_text("x")\nframe.to_csv(p)\n'
                      'open(p, "rb")\nwith atomic_path(p) as tmp:\n    fig.savefig(tmp)\n')
    assert [f.partition(": ")[2] for f in unsafe_writes(sample)] == [
        "open(..., 'w')", ".write_text('x')", ".to_csv(p)"]
