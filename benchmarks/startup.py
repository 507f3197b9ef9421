"""Start-up benchmark: whole-process wall time of `import revsim`, `revsim --help` and
`revsim --version`, and which heavy libraries each of them loads.

    python benchmarks/startup.py [--repeats 9] [--json startup.json] [--python PATH ...]

``--python`` (repeatable) measures the revsim installed with each given interpreter instead of
this one, all in the same interleaved rounds: e.g. a checkout before and after a change, each
with its own venv, compared under the same machine load.

Method:
- Every timing is a fresh interpreter (``subprocess.run``), measured from the parent with
  ``time.perf_counter()``: interpreter start-up, imports and exit included, as a user waits.
- One untimed warm-up run per command first (bytecode caches written, files in the page cache).
- The repeats are interleaved round-robin across the commands, rotating the order each round, so
  noise on a shared machine hits every command alike. The table shows the median (and min, max)
  of at least 7 repeats.
- The heavy libraries loaded are those in ``sys.modules`` when one extra run exits; that run is
  under ``python -X importtime``, which gives each one's cumulative import time (a single,
  noisier run: it says *what* is loaded and roughly what it costs).
- Children run in an empty temporary folder, so the installed revsim is measured, not a checkout
  in the working directory.

``loaded_heavy_modules`` and ``time_commands`` can be imported (``sys.path`` the benchmarks
folder) to check or time other commands.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Libraries that revsim's start-up should not need (the first five are the list).
HEAVY = ("scipy.stats", "pandas", "matplotlib", "dask", "pyarrow", "distributed", "lifelines",
         "scipy", "pydantic", "numpy", "simpy")


def revsim_command(python: str = sys.executable) -> list[str]:
    """The console script beside ``python``, else an equivalent ``python -c`` call."""
    script = Path(python).with_name("revsim")
    if script.exists():
        return [python, str(script)]
    return [python, "-c", "import sys; from revsim.cli import main; sys.exit(main())"]


def commands(python: str = sys.executable, label: str = "") -> dict[str, list[str]]:
    """The measured commands: name -> argv (the interpreter first), names prefixed by label."""
    cli = revsim_command(python)[1:]
    return {
        f"{label}import revsim": [python, "-c", "import revsim"],
        f"{label}revsim --help": [python, *cli, "--help"],
        f"{label}revsim --version": [python, *cli, "--version"],
    }


def run_child(argv: list[str], cwd: str, *, python_flags: tuple[str, ...] = ()) -> str:
    """Run ``argv`` (``python [flags] args...``) in ``cwd``; return its stderr; fail loudly."""
    python, *args = argv
    proc = subprocess.run([python, *python_flags, *args], cwd=cwd, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stderr


def time_commands(cmds: dict[str, list[str]], repeats: int, cwd: str) -> dict[str, list[float]]:
    """Wall seconds per command over ``repeats`` interleaved, rotating rounds (after a warm-up)."""
    names = list(cmds)
    for name in names:
        run_child(cmds[name], cwd)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            began = time.perf_counter()
            run_child(cmds[name], cwd)
            times[name].append(time.perf_counter() - began)
    return times


PROBE = """\
import atexit, json, sys
atexit.register(lambda: sys.stderr.write(
    "\\nHEAVY " + json.dumps([m for m in {heavy!r} if m in sys.modules]) + "\\n"))
"""


def probe_code(args: list[str]) -> str:
    """``python -c`` code that runs ``python args`` (the arguments after the interpreter) and
    reports the heavy modules it loaded."""
    code = PROBE.format(heavy=HEAVY)
    if args[0] == "-c":
        return code + args[1]
    return code + f"import runpy\nsys.argv = {args!r}\nrunpy.run_path({args[0]!r}, run_name='__main__')\n"


def loaded_heavy_modules(argv: list[str], cwd: str) -> dict[str, float | None]:
    """Heavy modules (see HEAVY) in ``sys.modules`` when ``argv`` (``python args...``) exits,
    each with its cumulative import time in seconds from one ``-X importtime`` run (None where
    importtime does not list the module itself, e.g. a package imported through its
    submodules)."""
    python, *args = argv
    err = run_child([python, "-c", probe_code(args)], cwd, python_flags=("-X", "importtime"))
    marker = err.rfind("\nHEAVY ")
    loaded = json.loads(err[marker + len("\nHEAVY "):].splitlines()[0])
    cost: dict[str, float] = {}
    for line in err[:marker].splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
        if name in HEAVY and cumulative.isdigit():
            cost[name] = int(cumulative) / 1e6
    return {name: cost.get(name) for name in loaded}


def markdown(times: dict[str, list[float]], heavy: dict[str, dict[str, float]]) -> str:
    lines = ["| command | median s | min s | max s | heavy modules loaded (import s, one run) |",
             "|---|---:|---:|---:|---|"]
    for name, ts in times.items():
        loaded = ", ".join(m if s is None else f"{m} {s:.2f}"
                           for m, s in heavy[name].items()) or "none"
        lines.append(f"| `{name}` | {statistics.median(ts):.3f} | {min(ts):.3f} | {max(ts):.3f} "
                     f"| {loaded} |")
    return "\n".join(lines)


def engine_of(python: str, cwd: str) -> str:
    """Which engine the revsim of ``python`` runs (asked after the timings)."""
    code = "import revsim.engine as e; print('compiled' if e.COMPILED else 'interpreted')"
    proc = subprocess.run([python, "-c", code], cwd=cwd, capture_output=True, text=True,
                          check=True)
    return proc.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description="Whole-process start-up times of revsim.")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per command (>= 7)")
    parser.add_argument("--json", type=Path, help="also write every timing to this file")
    parser.add_argument("--python", action="append", metavar="PATH",
                        help="measure the revsim of this interpreter (repeatable; default: "
                        "this one)")
    args = parser.parse_args()
    if args.repeats < 7:
        parser.error("--repeats must be at least 7 (the table reports medians)")
    pythons = args.python or [sys.executable]
    cmds: dict[str, list[str]] = {}
    for python in pythons:
        cmds |= commands(python, f"{python}: " if len(pythons) > 1 else "")
    with tempfile.TemporaryDirectory(prefix="revsim-startup-") as cwd:
        times = time_commands(cmds, args.repeats, cwd)
        heavy = {name: loaded_heavy_modules(argv, cwd) for name, argv in cmds.items()}
        engines = ", ".join(engine_of(python, cwd) for python in pythons)
    print(f"revsim start-up, {args.repeats} interleaved repeats per command; Python "
          f"{platform.python_version()}, {engines} engine, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print(markdown(times, heavy))
    if args.json:
        args.json.write_text(json.dumps({"times_s": times, "heavy_s": heavy}, indent=1) + "\n",
                             encoding="utf-8")


if __name__ == "__main__":
    main()
