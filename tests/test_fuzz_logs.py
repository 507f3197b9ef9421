"""The corpus of bad logs, mapping files and CRM/billing exports (tests/fuzz/logs), run through
``revsim fit`` and ``revsim backtest``.

Every case of tests/fuzz/logs/cases.toml must end with its exit code and print what it expects,
never a traceback; an error (exit 2) names the input on every line, writes no output file and
echoes no more than 200 characters of the input; stderr never carries a control character (a
value cannot drive the terminal). Cases marked ``odd`` are meaningful inputs read with a warning
(exit 0): their fitted scenario must load. Most cases run in-process through click's CliRunner;
those marked ``subprocess`` run as real ``python -m revsim`` processes, all at once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import REPO, SAAS

import revsim
from revsim.cli import main

CORPUS = Path(__file__).parent / "fuzz" / "logs"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text("utf-8"))["case"]
IN_PROCESS = [c for c in CASES if not c.get("subprocess")]
SUBPROCESS = [c for c in CASES if c.get("subprocess")]
MAX_ECHO = 200
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def arguments(case: dict[str, Any], out: Path) -> list[str]:
    values = {"{here}": str(CORPUS), "{out}": str(out), "{scenario}": str(SAAS)}
    args = []
    for arg in case["args"]:
        for key, value in values.items():
            arg = arg.replace(key, value)
        args.append(arg)
    return args


def check(case: dict[str, Any], code: int, stderr: str, out: Path) -> None:
    """Everything a case must hold, given how its command ended."""
    name = case["name"]
    assert code == case["exit"], (name, code, stderr)
    assert "Traceback" not in stderr, (name, stderr)
    for expected in case["expect"]:
        assert expected in stderr, (name, expected, stderr)
    assert not CONTROL.search(stderr), (name, stderr)
    written = sorted(p.name for p in out.iterdir())
    if case["exit"] == 2:
        assert written == [], (name, written)  # nothing half-done is left behind
        named = {Path(a.replace("{here}", str(CORPUS))).name for a in case["args"]
                 if "{here}" in a} | set(case["files"])
        # a bad flag is named by the flag, in click's quotes: the file it is about is fine
        named |= {f"'{a}'" for a in case["args"] if a.startswith("--")}
        errors = [line for line in stderr.splitlines() if line.lower().startswith("error")]
        assert errors, (name, stderr)
        for line in errors:
            assert any(n in line for n in named), (name, line)
        assert not _echoed(case, stderr), (name, stderr)
    else:
        assert "odd" in case, f"{name}: an exit-0 case must say why its input is meaningful"
        if case["args"][0] == "fit":
            fitted = revsim.load(out / "fitted.toml")
            assert "evil" not in fitted.raw.get("pools", {}), name


def _echoed(case: dict[str, Any], stderr: str) -> bool:
    """Whether stderr repeats more than MAX_ECHO characters of an input file verbatim."""
    texts = [(CORPUS / f).read_bytes().decode("utf-8", "replace") for f in case["files"]]
    return any(stderr[i:i + MAX_ECHO + 1] in text
               for i in range(max(len(stderr) - MAX_ECHO, 0)) for text in texts)


def test_the_corpus_is_large_and_every_file_is_used() -> None:
    assert len(CASES) >= 100
    assert len({c["name"] for c in CASES}) == len(CASES)
    used = {f for c in CASES for f in c["files"]}
    present = {p.name for p in CORPUS.iterdir()} - {"cases.toml", "make_corpus.py"}
    assert used == present
    assert {c["args"][0] for c in CASES} == {"fit", "backtest"}
    assert 0 < len(SUBPROCESS) <= 8


@pytest.mark.parametrize("case", IN_PROCESS, ids=[c["name"] for c in IN_PROCESS])
def test_case(case: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(main, arguments(case, out))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        (case["name"], result.exception)
    check(case, result.exit_code, result.stderr, out)


def test_subprocess_cases(tmp_path: Path) -> None:
    """The ``subprocess`` cases as real processes, two at a time (the machines have two cores)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for pair in (SUBPROCESS[i:i + 2] for i in range(0, len(SUBPROCESS), 2)):
        running = []
        for case in pair:
            out = tmp_path / case["name"]
            out.mkdir()
            proc = subprocess.Popen([sys.executable, "-m", "revsim", *arguments(case, out)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                    cwd=tmp_path, stdin=subprocess.DEVNULL)
            running.append((case, proc, out))
        for case, proc, out in running:
            _, stderr = proc.communicate(timeout=300)
            check(case, proc.returncode, stderr.decode("utf-8", "replace"), out)
