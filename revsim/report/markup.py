"""Small HTML and number-formatting helpers shared by the report's modules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from revsim.plotting.figure_parts import kpi_label
from revsim.table import format_value


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _attrs(attrs: dict[str, Any]) -> str:
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{_e(v)}"' for k, v in attrs.items()
                   if v is not None)


def _tag(name: str, content: str = "", **attrs: Any) -> str:
    return f"<{name}{_attrs(attrs)}>{content}</{name}>"


def _table(head: Sequence[tuple[str, str]], rows: Sequence[str], caption: str = "",
           **attrs: Any) -> str:
    """``head``: (text, css class) per column; ``rows``: ready <tr> markup."""
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    ths = "".join(f'<th scope="col"{_attrs({"class_": cls or None})}>{_e(text)}</th>'
                  for text, cls in head)
    body = "\n".join(rows)
    return (f'<div class="table-wrap"><table{_attrs(attrs)}>{cap}<thead><tr>{ths}</tr></thead>'
            f"\n<tbody>\n{body}\n</tbody></table></div>")


def _dl(items: Sequence[tuple[str, str]]) -> str:
    """A definition list; values are markup."""
    body = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items)
    return f'<dl class="facts">{body}</dl>'


def _num(x: Any) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return math.nan
    return value


def _label(metric: str) -> str:
    return kpi_label(metric)


def _duration_arg(hours: float) -> str:
    """Hours as a duration the CLI reads back exactly: "40 w", "3 d", "36 h", "90 min"."""
    if hours == 0:
        return "0 h"
    for unit, size in (("w", 168.0), ("d", 24.0), ("h", 1.0), ("min", 1 / 60)):
        count = hours / size
        if abs(count - round(count)) < 1e-9:
            return f"{round(count)} {unit}"
    return f"{hours!r} h"


def _signed(value: float, unit: str, currency: str) -> str:
    if not math.isfinite(value):
        return "-"
    return ("+" if value >= 0 else "-") + format_value(abs(value), unit, currency)
