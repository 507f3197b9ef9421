"""The fuzz corpus under tests/fuzz/: finding its cases, and running them (see tests/fuzz/README.md).

Run as a script (``python tests/fuzz_cases.py``) it runs every case in this one process through
click's CliRunner and prints one JSON line per case; tests/test_fuzz.py starts it as a child
process, so a case that crashed the interpreter (a segfault, memory exhausted) fails only that
run and is named, and the corpus costs one interpreter start instead of hundreds.
"""

from __future__ import annotations

import json
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

FUZZ = Path(__file__).resolve().parent / "fuzz"
MANIFEST_SUFFIX = ".case.toml"
OUT = "{out}"  # in args: a fresh empty folder for the command's output


@dataclass(frozen=True)
class Case:
    """One manifest: the command to run (from the manifest's folder) and what must come out."""

    path: Path
    args: tuple[str, ...]
    names: str  # the file or flag the message must name
    exit: int = 2
    contains: tuple[str, ...] = ()
    subprocess: bool = False
    about: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.path.relative_to(FUZZ))[: -len(MANIFEST_SUFFIX)]

    @property
    def folder(self) -> Path:
        return self.path.parent


def discover(root: Path = FUZZ) -> list[Case]:
    """Every ``*.case.toml`` under ``root``, at any depth, in a stable order."""
    cases = []
    for manifest in sorted(root.rglob(f"*{MANIFEST_SUFFIX}")):
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        known = {"args", "names", "exit", "contains", "subprocess", "about"}
        cases.append(Case(manifest, tuple(data["args"]), data["names"], int(data.get("exit", 2)),
                          tuple(data.get("contains", ())), bool(data.get("subprocess", False)),
                          str(data.get("about", "")),
                          {k: v for k, v in data.items() if k not in known}))
    return cases


def concrete_args(case: Case, out: Path) -> list[str]:
    return [a.replace(OUT, str(out)) for a in case.args]


def run_in_process(case: Case) -> dict[str, object]:
    """The case run through CliRunner from its folder: exit code, stdout, stderr, and the
    exception if one escaped the command (a traceback would have been printed)."""
    import os

    from click.testing import CliRunner

    from revsim.cli import main

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(case.folder)
        try:
            result = CliRunner().invoke(main, concrete_args(case, Path(tmp) / "out"))
        finally:
            os.chdir(here)
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    return {"case": case.id, "exit": result.exit_code, "stdout": result.stdout,
            "stderr": result.stderr,
            "exception": None if escaped is None else f"{type(escaped).__name__}: {escaped}"}


def main() -> None:
    wanted = set(sys.argv[1:])
    for case in discover():
        if wanted and case.id not in wanted:
            continue
        print(json.dumps({"started": case.id}), flush=True)
        print(json.dumps(run_in_process(case)), flush=True)


if __name__ == "__main__":
    main()
