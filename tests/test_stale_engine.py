"""A compiled engine that no longer matches its sources is never run (see revsim/engine/__init__).

No C compiler is needed: each test copies the package's sources into tmp_path and puts fake
extension modules (files that are not shared libraries) beside the engine's sources, with or
without a record of the sources they were "built" from. Importing a fake extension module fails,
so a child interpreter that imports the copy and runs a scenario proves that the engine ran from
its sources; one that fails on the fake file proves the compiled modules were chosen.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest
from conftest import SAAS

import revsim
from revsim.engine import SOURCES_RECORD, compiled_engine_state

# The modules setup.py compiles (all of the engine but arrivals.py).
COMPILED = ("calendar", "cash", "entities", "environment", "monitor", "pool", "simulation",
            "source", "stage", "streams")

CHILD = """
import json, sys, warnings
import revsim, revsim.engine
from revsim.cli import main
sc = revsim.load(sys.argv[1])
res = sc.run(replications=2, seed=3, horizon=sc.model.warmup + 168.0, jobs=2, progress=False)
files = {name: mod.__file__ for name, mod in sys.modules.items() if name.startswith("revsim.engine.")}
print(json.dumps({"compiled": revsim.engine.COMPILED, "stale": revsim.engine.STALE_BUILD,
                  "files": files, "rows": len(res.summary)}))
main(["--version"], standalone_mode=False)
"""


def fake_build(tmp_path: Path, *, modules: tuple[str, ...] = COMPILED,
               record: dict[str, str] | None = None) -> Path:
    """A copy of the package with fake compiled ``modules`` and, if given, a sources record."""
    root = tmp_path / "site"
    shutil.copytree(Path(revsim.__file__).parent, root / "revsim",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", SOURCES_RECORD))
    engine = root / "revsim" / "engine"
    for module in modules:
        (engine / f"{module}{EXTENSION_SUFFIXES[0]}").write_bytes(b"not a shared library\n")
    if record is not None:
        (engine / SOURCES_RECORD).write_text(json.dumps({"sha256": record}), encoding="utf-8")
    return root


def true_record(root: Path, modules: tuple[str, ...] = COMPILED) -> dict[str, str]:
    engine = root / "revsim" / "engine"
    return {m: hashlib.sha256((engine / f"{m}.py").read_bytes()).hexdigest() for m in modules}


def run_child(root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", CHILD, str(SAAS)], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def assert_interpreted_with_one_warning(proc: subprocess.CompletedProcess[str], root: Path,
                                        reason: str) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    report_line, version = proc.stdout.strip().splitlines()
    report = json.loads(report_line)
    assert report["compiled"] is False
    assert reason in report["stale"]
    assert report["rows"] > 0
    engine = root / "revsim" / "engine"
    assert {Path(f).name for f in report["files"].values()} >= {f"{m}.py" for m in COMPILED}
    assert all(Path(f).parent == engine for f in report["files"].values())
    assert "interpreted engine" in version
    # One warning, though two pool workers imported the engine too, naming the way to rebuild.
    assert proc.stderr.count("StaleEngineWarning") == 1, proc.stderr
    assert reason in proc.stderr and "pip install -e" in proc.stderr


def test_an_edited_source_runs_interpreted_with_one_warning(tmp_path: Path) -> None:
    root = fake_build(tmp_path, record={})
    engine = root / "revsim" / "engine"
    record = true_record(root)
    (engine / SOURCES_RECORD).write_text(json.dumps({"sha256": record}), encoding="utf-8")
    with (engine / "stage.py").open("a", encoding="utf-8") as fh:
        fh.write("\n# an edit made after the build\n")
    assert_interpreted_with_one_warning(run_child(root, tmp_path), root, "stage.py changed")


def test_compiled_modules_without_a_record_run_interpreted(tmp_path: Path) -> None:
    root = fake_build(tmp_path)
    assert_interpreted_with_one_warning(run_child(root, tmp_path), root, SOURCES_RECORD)


def test_a_partly_compiled_engine_runs_wholly_interpreted(tmp_path: Path) -> None:
    root = fake_build(tmp_path, modules=COMPILED[:4], record={})
    record = true_record(root)  # a full build's record, but six compiled modules are missing
    (root / "revsim" / "engine" / SOURCES_RECORD).write_text(json.dumps({"sha256": record}))
    assert_interpreted_with_one_warning(run_child(root, tmp_path), root, "not the set")


def test_a_matching_record_uses_the_compiled_modules(tmp_path: Path) -> None:
    root = fake_build(tmp_path, record={})
    (root / "revsim" / "engine" / SOURCES_RECORD).write_text(
        json.dumps({"sha256": true_record(root)}), encoding="utf-8")
    proc = run_child(root, tmp_path)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and EXTENSION_SUFFIXES[0] in proc.stderr, proc.stderr
    assert "StaleEngineWarning" not in proc.stderr


@pytest.mark.parametrize(("modules", "recorded", "edit", "usable"), [
    ((), None, False, False),  # pure Python: nothing compiled, nothing stale
    (COMPILED, COMPILED, False, True),
    (COMPILED, COMPILED, True, False),
    (COMPILED, None, False, False),
    (COMPILED[:1], COMPILED, False, False),
])
def test_compiled_engine_state(tmp_path: Path, modules: tuple[str, ...],
                               recorded: tuple[str, ...] | None, edit: bool, usable: bool) -> None:
    root = fake_build(tmp_path, modules=modules)
    engine = root / "revsim" / "engine"
    if recorded is not None:
        (engine / SOURCES_RECORD).write_text(json.dumps({"sha256": true_record(root, recorded)}))
    if edit:
        (engine / "pool.py").write_text((engine / "pool.py").read_text() + "\n", encoding="utf-8")
    compiled, stale = compiled_engine_state(str(engine))
    assert compiled == frozenset(modules)
    assert (bool(compiled) and stale is None) is usable
    assert (stale is None) is (usable or not modules)


def test_without_sources_the_build_is_trusted(tmp_path: Path) -> None:
    root = fake_build(tmp_path)  # no record at all
    engine = root / "revsim" / "engine"
    (engine / "stage.py").unlink()  # nothing to fall back to, as in an install without sources
    assert compiled_engine_state(str(engine)) == (frozenset(COMPILED), None)
