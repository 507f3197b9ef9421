"""What reaches the terminal: text made safe to print.

Names in a scenario or an event log (scenarios, pools, stages, sources, labels) and file names
come from files someone else may have written. Printed raw, an escape sequence in one could
recolour, rewrite or hide what the terminal shows (``\\r`` overwrites a line, ``ESC[2J`` clears
the screen, ``ESC]`` sequences retitle the window or make links). Every line a command prints
goes through :func:`printable` first, which writes control characters out (``\\x1b``) so none can act.
"""

from __future__ import annotations

import re

import click

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline


def printable(text: str) -> str:
    """``text`` with every control character but tab and newline written out as ``\\xNN``.

    Written out rather than dropped: a name holding NUL is then shown as it is in the file
    (``sdr\\x00x``), so the user can find it, while an escape sequence can no longer act."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def echo(message: str, *, err: bool = False) -> None:
    """Print one message (stdout, or stderr with ``err``), made :func:`printable`."""
    click.echo(printable(message), err=err)
