"""The one reader of the text files a user gives revsim (scenarios, sweep files, mappings), and
the checks every parsed file gets before any schema sees it.

A file that is not UTF-8 text is refused with the byte offset (and line) of the first bad byte;
a binary file, a device or a file larger than the limit is refused before it is read whole.
After parsing, a structure nested deeper than the limit (a nesting bomb) is refused before
anything recurses into it, and text with NUL or other control characters, and dates outside
the supported years, are reported with their dotted paths.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from revsim.errors import InputError, Problem, ProblemsError, clip
from revsim.limits import MAX_INPUT_BYTES, MAX_NESTING, YEARS

_BOM = b"\xef\xbb\xbf"
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"} | {"\x7f"}


def read_text_file(path: str | Path, *, error: type[ProblemsError] = InputError) -> str:
    """The text of the UTF-8 file ``path``; anything else raises ``error`` naming the file."""
    source = str(path)

    def fail(message: str) -> ProblemsError:
        return error([Problem("", message)], source)

    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise fail("is a folder, not a file")
            if not stat.S_ISREG(info.st_mode):
                raise fail("is not a regular file (a device or a pipe); give a text file")
            if info.st_size > MAX_INPUT_BYTES:
                raise fail(f"is {info.st_size / 2**20:.1f} MiB, more than the "
                           f"{MAX_INPUT_BYTES // 2**20} MiB an input file may have")
            data = fh.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise fail("file not found") from None
    except IsADirectoryError:
        raise fail("is a folder, not a file") from None
    except PermissionError:
        raise fail("permission denied; check the file's permissions") from None
    except OSError as err:
        raise fail(f"cannot read: {err.strerror or err}") from None
    if len(data) > MAX_INPUT_BYTES:  # it grew while being read
        raise fail(f"is more than the {MAX_INPUT_BYTES // 2**20} MiB an input file may have")
    return decode_text(data, source, error=error)


def decode_text(data: bytes, source: str, *, error: type[ProblemsError] = InputError) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark is dropped); binary data or a byte
    that is not UTF-8 raises ``error`` with its offset and line."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise error([Problem("", f"is binary, not text: NUL byte at offset {nul} (line {line}); "
                             "give a UTF-8 text file")], source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise error([Problem("", f"is not UTF-8 text: byte 0x{data[err.start]:02x} at offset "
                             f"{err.start} (line {line}) cannot be decoded; save the file as "
                             "UTF-8")], source) from None


def nesting_problem(data: Any, limit: int = MAX_NESTING) -> Problem | None:
    """The first place where tables and arrays are nested deeper than ``limit``, walked without
    recursion (the structure may be a nesting bomb)."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > limit:
            return Problem(_dotted(path[:limit]), f"tables and arrays are nested more than "
                           f"{limit} levels deep; a scenario needs a handful")
        if isinstance(node, Mapping):
            stack.extend((v, (*path, str(k))) for k, v in node.items())
        elif isinstance(node, list | tuple):
            stack.extend((v, (*path, str(i))) for i, v in enumerate(node))
    return None


def value_problems(data: Any) -> list[Problem]:
    """Text with NUL or other control characters (names and values), and dates outside the
    supported years, anywhere in ``data`` (already checked for depth)."""
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, Mapping):
            for k, v in node.items():
                key = str(k)
                if _CONTROL.intersection(key):
                    problems.append(Problem(_dotted((*path, key)), "the name contains a control "
                                            "character (such as NUL); remove it"))
                stack.append((v, (*path, key)))
        elif isinstance(node, list | tuple):
            stack.extend((v, (*path, str(i))) for i, v in enumerate(node))
        elif isinstance(node, str):
            if _CONTROL.intersection(node):
                bad = next(c for c in node if c in _CONTROL)
                problems.append(Problem(_dotted(path), f"text contains the control character "
                                        f"{bad!r}; remove it"))
        elif isinstance(node, dt.date):  # datetimes too
            if not YEARS[0] <= node.year <= YEARS[1]:
                problems.append(Problem(_dotted(path), date_range_message(node)))
    return sorted(problems, key=lambda p: p.path)


def date_range_message(when: dt.date) -> str:
    return (f"{when.isoformat()} is outside the years {YEARS[0]}-{YEARS[1]} revsim simulates; "
            "check the year")


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(clip(p, 60) for p in path)
