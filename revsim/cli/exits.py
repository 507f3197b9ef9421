"""How a command ends: revsim's own errors become one clean line per problem on stderr and a
Unix exit code, never a traceback.

Bad input (a scenario, a flag, a path) and a write that failed (a full disk, a read-only folder:
revsim.io.OutputError names the path) exit 2; an interrupted run exits 130 and leaves no
half-written file; another system failure after the input was accepted (a lost connection)
exits 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from revsim.cli.terminal import echo
from revsim.errors import RevsimError, ScenarioError
from revsim.units import UnitError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INPUT = 2
EXIT_TASKS_FAILED = 1  # a sweep finished, but some tasks raised (reported; --resume retries)
EXIT_SYSTEM = 1  # the input was fine but the system failed (a lost connection)
EXIT_INTERRUPTED = 130


def echo_err(message: str) -> None:
    echo(message, err=True)


@contextmanager
def clean_errors() -> Iterator[None]:
    """Turn revsim's own errors into clean messages and Unix exit codes."""
    try:
        yield
    except ScenarioError as err:
        for line in err.lines():
            echo_err(f"error: {line}")
        n = len(err.problems)
        echo_err(f"{n} problem{'s' if n != 1 else ''} found; nothing was run.")
        sys.exit(EXIT_INPUT)
    except (RevsimError, UnitError) as err:
        lines = err.lines() if hasattr(err, "lines") else str(err).splitlines()
        for line in lines:
            echo_err(f"error: {line}")
        sys.exit(EXIT_INPUT)
    except RecursionError:  # a last defence: inputs are checked for depth when they are read
        echo_err("error: the input is nested too deeply to read; see the limits in "
                 "docs/scenario-format.md")
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        echo_err("interrupted; no output files were left half-written.")
        sys.exit(EXIT_INTERRUPTED)
    except OSError as err:  # e.g. the disk filled up while writing results
        where = f"{err.filename}: " if err.filename else ""
        echo_err(f"error: {where}{err.strerror or err} (files are written whole or not at all)")
        sys.exit(EXIT_SYSTEM)


def handles_errors(func: F) -> F:
    """Run a command's body under :func:`clean_errors`."""
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with clean_errors():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
