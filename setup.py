"""Build script: compiles the simulation engine's hot modules with mypyc when it can.

Everything else about the package lives in pyproject.toml. The engine is plain, typed Python;
mypyc (part of mypy) translates the modules below to C extension modules, which run the same
code with the same floating-point results 1.4-1.7x faster. If mypyc or a C compiler is
missing, or ``REVSIM_PURE_PYTHON=1`` is set, the package installs as pure Python instead and
behaves identically, only slower. ``revsim.engine.COMPILED`` says which one runs.

Beside the compiled modules the build writes ``compiled_sources.json``, the sha256 of each source
it compiled. ``revsim.engine`` checks it on import and runs the interpreted engine (with a
warning saying how to rebuild) when a source has changed since, instead of stale compiled code.
"""

from __future__ import annotations

import hashlib
import json
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

# Read by revsim.engine on import (see revsim/engine/__init__.py); the format is shared with it.
SOURCES_RECORD = "compiled_sources.json"

# Commands that build extensions. Others (egg_info, asked first by pip for metadata) skip the
# translation.
BUILD_COMMANDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}

MYPYC_CONFIG = """\
[mypy]
python_version = 3.11
ignore_missing_imports = True
follow_imports = skip
[mypy-simpy.*,revsim.scenario.model,revsim.scenario.billing,revsim.scenario.compile_calendar,revsim.engine.*]
follow_imports = silent
"""


def _say(message: str) -> None:
    print(f"revsim build: {message}", file=sys.stderr)


def remove_inplace_build() -> None:
    """Delete the compiled engine an earlier editable install left in the source tree.

    A pure-Python build skips build_ext, so nothing else would remove it, and its extension
    modules would go on shadowing the sources.
    """
    engine = HERE / "revsim" / "engine"
    leftovers = [engine / SOURCES_RECORD, *engine.glob("*.so"), *engine.glob("*.pyd"),
                 *HERE.glob("*__mypyc.*.so"), *HERE.glob("*__mypyc.*.pyd")]
    for path in leftovers:
        if path.exists():
            _say(f"removing the earlier compiled engine's {path.relative_to(HERE)}")
            path.unlink()


def pure_python(reason: str) -> list:
    _say(f"{reason}: installing the pure-Python engine")
    if {"editable_wheel", "develop"}.intersection(sys.argv[1:]):
        remove_inplace_build()
    return []


def compiled_extensions() -> list:
    if not BUILD_COMMANDS.intersection(sys.argv[1:]):
        return []
    if os.environ.get("REVSIM_PURE_PYTHON", "").strip() not in ("", "0"):
        return pure_python("REVSIM_PURE_PYTHON is set")
    try:
        from mypyc.build import mypycify
    except ImportError:
        return pure_python("mypyc is not available")
    os.chdir(HERE)  # mypyc takes paths relative to the project
    # Type-check only what the compiled code needs to know precisely (the engine, its model
    # types and SimPy's base classes); everything else counts as Any, which keeps the build fast.
    config = HERE / "build" / "mypyc.ini"
    config.parent.mkdir(exist_ok=True)
    config.write_text(MYPYC_CONFIG, encoding="utf-8")
    try:
        return mypycify(["--config-file", str(config), *COMPILED_MODULES], opt_level="3")
    except BaseException as exc:  # mypyc reports type errors by exiting
        return pure_python(f"mypyc could not translate the engine ({exc!r})")


class OptionalBuildExt(build_ext):
    """Compile the engine if a C compiler is there; otherwise install it as pure Python.

    All or nothing: a half-built engine (some modules compiled, their shared runtime missing)
    would not import, so any failure removes what was built. A successful build records the
    hash of each compiled source beside the compiled modules, both in the build directory (what
    a wheel ships) and, for an editable install, in the source tree.
    """

    def record_paths(self) -> list[str]:
        if not self.extensions:
            return []
        paths = [os.path.join(self.build_lib, "revsim", "engine", SOURCES_RECORD)]
        if self.inplace:
            build_py = self.get_finalized_command("build_py")
            paths.append(os.path.join(build_py.get_package_dir("revsim.engine"), SOURCES_RECORD))
        return paths

    def get_outputs(self) -> list[str]:
        return [*super().get_outputs(), *self.record_paths()]

    def write_sources_record(self) -> None:
        digests = {
            Path(module).stem: hashlib.sha256((HERE / module).read_bytes()).hexdigest()
            for module in COMPILED_MODULES
        }
        text = json.dumps({"sha256": digests}, indent=1, sort_keys=True) + "\n"
        for path in self.record_paths():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text, encoding="utf-8")

    def run(self) -> None:
        try:
            super().run()
            self.write_sources_record()
        except Exception as exc:
            for path in self.get_outputs():
                Path(path).unlink(missing_ok=True)
            reason = f"{type(exc).__name__}: {str(exc)[:160]}"
            _say(f"compiling the engine failed ({reason}): installing the pure-Python engine")


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})
