"""Build script: compiles the simulation engine's hot modules with mypyc when it can.

Everything else about the package lives in pyproject.toml. The engine is plain, typed Python;
mypyc (part of mypy) translates the modules below to C extension modules, which run the same
code with the same floating-point results 1.4-1.7x faster. If mypyc or a C compiler is
missing, or ``REVSIM_PURE_PYTHON=1`` is set, the package installs as pure Python instead and
behaves identically, only slower. ``revsim.engine.COMPILED`` says which one is installed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent

# The modules on the per-event path (arrivals.py is vectorised numpy already).
COMPILED_MODULES = [
    "revsim/engine/calendar.py",
    "revsim/engine/entities.py",
    "revsim/engine/environment.py",
    "revsim/engine/monitor.py",
    "revsim/engine/streams.py",
    "revsim/engine/pool.py",
    "revsim/engine/stage.py",
    "revsim/engine/source.py",
    "revsim/engine/cash.py",
    "revsim/engine/simulation.py",
]

# Commands that build extensions. Others (egg_info, asked first by pip for metadata) skip the
# translation.
BUILD_COMMANDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}

MYPYC_CONFIG = """\
[mypy]
python_version = 3.11
ignore_missing_imports = True
follow_imports = skip
[mypy-simpy.*,revsim.scenario.model,revsim.engine.*]
follow_imports = silent
"""


def _say(message: str) -> None:
    print(f"revsim build: {message}", file=sys.stderr)


def compiled_extensions() -> list:
    if not BUILD_COMMANDS.intersection(sys.argv[1:]):
        return []
    if os.environ.get("REVSIM_PURE_PYTHON", "").strip() not in ("", "0"):
        _say("REVSIM_PURE_PYTHON is set: installing the pure-Python engine")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _say("mypyc is not available: installing the pure-Python engine")
        return []
    os.chdir(HERE)  # mypyc takes paths relative to the project
    # Type-check only what the compiled code needs to know precisely (the engine, its model
    # types and SimPy's base classes); everything else counts as Any, which keeps the build fast.
    config = HERE / "build" / "mypyc.ini"
    config.parent.mkdir(exist_ok=True)
    config.write_text(MYPYC_CONFIG, encoding="utf-8")
    try:
        return mypycify(["--config-file", str(config), *COMPILED_MODULES], opt_level="3")
    except BaseException as exc:  # mypyc reports type errors by exiting
        _say(f"mypyc could not translate the engine ({exc!r}): installing the pure-Python engine")
        return []


class OptionalBuildExt(build_ext):
    """Compile the engine if a C compiler is there; otherwise install it as pure Python.

    All or nothing: a half-built engine (some modules compiled, their shared runtime missing)
    would not import, so any failure removes what was built.
    """

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            for path in self.get_outputs():
                Path(path).unlink(missing_ok=True)
            reason = f"{type(exc).__name__}: {str(exc)[:160]}"
            _say(f"compiling the engine failed ({reason}): installing the pure-Python engine")


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})
