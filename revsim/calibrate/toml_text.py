"""TOML values as text for the fitted scenario: strings escaped so any label loads, long
arrays and tables spread over lines of about 100 characters that load back as the same values."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    # fullmatch: ``$`` would also match before a final line break, writing ``a\n`` bare
    return key if _BARE.fullmatch(key) else toml_string(key)


# lone surrogates, and the control characters a scenario may not hold (all but tab and breaks)
_NO_TOML_FORM = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quotes, backslashes and every control character
    escaped (a label's line break stays inside the string, it cannot start a table), non-ASCII
    as ``\\uXXXX`` (``\\UXXXXXXXX`` beyond U+FFFF). An unpaired surrogate (a file name that was
    not UTF-8) has no TOML form, and a scenario may not hold control characters other than tab
    and line breaks: both become U+FFFD, so the written scenario loads."""
    quoted = json.dumps(_NO_TOML_FORM.sub("\ufffd", text), ensure_ascii=False)
    # not json's own escapes: it writes a character beyond U+FFFF as a surrogate pair, which
    # TOML refuses (an emoji in a label would make the scenario unloadable)
    return _NON_ASCII.sub(_escape, quoted)


_NON_ASCII = re.compile("[^\x00-\x7f]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def toml_value(value: Any) -> str:
    """A TOML value: inline tables and arrays on one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("cannot write a NaN or infinite number to a scenario")
        return repr(round(value, 10))
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if hasattr(value, "item"):  # numpy scalars
        return toml_value(value.item())
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


# a wrapped value's lines stay this short; unwrapped ones (short values) may run a little over
_WIDTH = 100
_INDENT = "    "


def assign(key: str, value: Any) -> list[str]:
    """``key = value`` as lines of at most about ``_WIDTH`` characters, loading back as
    exactly the same values. A long array spans lines; so do the arrays inside a long inline
    table, and if its other entries still make a line too long, it becomes dotted keys (TOML
    1.0 allows a line break inside an inline table only within a value)."""
    line = f"{key} = {toml_value(value)}"
    if len(line) <= _WIDTH:
        return [line]
    if isinstance(value, dict) and value:
        inline = _table_lines(value, "", f"{key} = ")
        if all(len(line) <= _WIDTH for line in inline):
            return inline
        return [out for k, v in value.items() for out in assign(f"{key}.{toml_key(k)}", v)]
    if isinstance(value, list | tuple) and value:
        return [f"{key} = ["] + _array_lines(value, _INDENT) + ["]"]
    return [line]


def _array_lines(values: list[Any] | tuple[Any, ...], indent: str) -> list[str]:
    """An array's items, several to a line; an item too long for a line of its own (a route
    table holding a long array) spreads its own arrays over lines, which TOML allows even
    inside an inline table."""
    out: list[str] = []
    line = ""
    for value in values:
        item = f"{toml_value(value)},"
        if len(indent) + len(item) > _WIDTH and isinstance(value, list | tuple | dict):
            if line:
                out.append(indent + line)
                line = ""
            out.extend(_long_item(value, indent))
        elif line and len(indent) + len(line) + 1 + len(item) > _WIDTH:
            out.append(indent + line)
            line = item
        else:
            line = f"{line} {item}" if line else item
    if line:
        out.append(indent + line)
    return out


def _long_item(value: list[Any] | tuple[Any, ...] | dict[str, Any], indent: str) -> list[str]:
    if isinstance(value, dict):
        lines = _table_lines(value, indent, "")
        return [*lines[:-1], lines[-1] + ","]
    return [f"{indent}[", *_array_lines(value, indent + _INDENT), f"{indent}],"]


def _table_lines(value: dict[str, Any], indent: str, prefix: str) -> list[str]:
    """``indent + prefix`` and ``value`` as an inline table whose long arrays span lines: its
    keys, braces and commas stay on the lines around them, where TOML needs them."""
    inner = indent + _INDENT
    text = f"{indent}{prefix}{{ "
    out: list[str] = []
    for i, (k, v) in enumerate(value.items()):
        text += ", " if i else ""
        key = toml_key(k)
        if isinstance(v, list | tuple) and v and len(f"{inner}{key} = {toml_value(v)}") > _WIDTH:
            out.append(f"{text}{key} = [")
            out.extend(_array_lines(v, inner + _INDENT))
            text = f"{inner}]"
        else:
            text += f"{key} = {toml_value(v)}"
    return [*out, text + " }"]
