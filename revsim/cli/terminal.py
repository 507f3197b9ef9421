"""What reaches the terminal: text made safe to print.

Names in a scenario or an event log (scenarios, pools, stages, sources, labels) and file names
come from files someone else may have written. Printed raw, an escape sequence in one could
recolour, rewrite or hide what the terminal shows (``\\r`` overwrites a line, ``ESC[2J`` clears
the screen, ``ESC]`` sequences retitle the window or make links). Every line a command prints
goes through :func:`printable` first.
"""

from __future__ import annotations

import re

import click

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # the other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI in its one-byte (C1) form
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline


def printable(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (tab and newline
    kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def echo(message: str, *, err: bool = False) -> None:
    """Print one message (stdout, or stderr with ``err``), made :func:`printable`."""
    click.echo(printable(message), err=err)
