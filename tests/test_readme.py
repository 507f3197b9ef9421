"""Every command output the README shows is real: each block marked `<!-- output: COMMAND -->` is
checked against what COMMAND prints today.

A block may be abridged: a line holding only `...` skips any number of real lines. Whitespace is
compared collapsed, so a sentence the README wraps at a different width still matches, while every
word and number must be the real one.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"<!-- output: (?P<cmd>.+?) -->\s*\n```text\n(?P<body>.*?)\n```", re.S)


def _blocks() -> list[tuple[str, str]]:
    return [(m["cmd"], m["body"]) for m in MARKER.finditer(README.read_text(encoding="utf-8"))]


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _run(cmd: str) -> str:
    argv = shlex.split(cmd)
    assert argv[0] == "revsim", f"README output markers run revsim commands only, not {cmd!r}"
    # The console script's own module, so that the command runs in this interpreter's install.
    proc = subprocess.run([sys.executable, "-m", "revsim", *argv[1:]], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stderr}"
    return proc.stdout


def test_readme_marks_its_outputs():
    commands = [cmd for cmd, _ in _blocks()]
    assert any(cmd.startswith("revsim run ") for cmd in commands)
    assert any(cmd.startswith("revsim bottlenecks ") for cmd in commands)


@pytest.mark.parametrize(("cmd", "body"), _blocks(), ids=[c for c, _ in _blocks()])
def test_readme_output_is_real(cmd, body):
    real = _collapse(_run(cmd))
    position = 0
    segments = re.split(r"^\s*\.\.\.\s*$", body, flags=re.M)
    for segment in segments:
        wanted = _collapse(segment)
        if not wanted:
            continue
        found = real.find(wanted, position)
        assert found >= 0, (
            f"README block for `{cmd}` no longer matches the real output; the part that differs "
            f"starts at:\n{segment.strip()[:400]}\n--- real output ---\n{_run(cmd)}")
        position = found + len(wanted)
