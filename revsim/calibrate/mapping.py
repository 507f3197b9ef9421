"""Activity mapping: raw labels from a CRM or billing export -> canonical revsim activities.

A mapping file is TOML::

    [activities]            # raw label -> canonical activity
    "Prospecting" = "stage:prospecting"
    "Engaging" = "stage:engaging"
    "Won" = "closed_won"
    "Lost" = "closed_lost"

    [order]                 # optional: stage order for reporting
    stages = ["prospecting", "engaging"]

Labels are matched exactly (after trimming surrounding spaces). Labels that are already
canonical pass through unchanged, so a log may mix raw stage names with ``lead_created``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.date_formats import check_date_format
from revsim.calibrate.text_input import LogError, nul_lines, read_text, shown
from revsim.errors import Problem

CANONICAL_ACTIVITIES: tuple[str, ...] = (
    "lead_created", "lead_assigned", "first_touch", "contacted", "mql", "sql", "disqualified",
    "recycled", "converted", "opportunity_created", "closed_won", "closed_lost",
    "onboarding_started", "go_live", "invoice_issued", "reminder_sent", "payment_failed",
    "payment_received", "invoice_paid", "invoice_written_off", "invoice_voided", "churned",
)
"""Every canonical activity except the open family ``stage:<name>``."""

STAGE_PREFIX = "stage:"


def is_canonical(label: str) -> bool:
    """True for a canonical activity name, including ``stage:<name>`` with a non-blank name."""
    if label.startswith(STAGE_PREFIX):
        return bool(label[len(STAGE_PREFIX):].strip())
    return label in CANONICAL_ACTIVITIES


def canonical_mask(labels: pd.Series) -> pd.Series:
    """Vectorised ``is_canonical`` over a Series of strings (missing values are not canonical)."""
    values = pd.Series(labels, dtype=object)
    good = [u for u in pd.unique(values.dropna()) if isinstance(u, str) and is_canonical(u)]
    return values.isin(good)


@dataclass(frozen=True)
class Mapping:
    """Raw activity label -> canonical activity, plus an optional stage order and the log's
    date format (``[dates] format``: see revsim.calibrate.date_formats; None is ISO 8601)."""

    activities: dict[str, str]
    stages: list[str] = field(default_factory=list)
    source: str | None = None
    date_format: str | None = None

    @classmethod
    def from_dict(cls, raw: AbcMapping[str, Any], source: str | None = None) -> Mapping:
        """Build and validate a mapping from the parsed TOML tables; raises ``LogError``."""
        problems: list[Problem] = []
        for key in raw:
            if key not in ("activities", "order", "dates"):
                problems.append(Problem(key, "unknown table; a mapping has [activities] and "
                                             "optionally [order] and [dates]"))
        date_format = None
        dates = raw.get("dates", {})
        if not isinstance(dates, AbcMapping):
            problems.append(Problem("dates", 'must be a table with format = "..."'))
        else:
            problems += [Problem(f"dates.{k}", 'unknown key; only format = "..."')
                         for k in dates if k != "format"]
            if "format" in dates:
                found = check_date_format(dates["format"], "dates.format")
                problems += found
                date_format = None if found else str(dates["format"]).strip()
        table = raw.get("activities")
        activities: dict[str, str] = {}
        if table is None and "dates" in raw:
            pass  # a mapping of the date format only: the labels are canonical already
        elif not isinstance(table, AbcMapping) or not table:
            problems.append(Problem("activities", 'missing or empty; add lines like '
                                                  '"Won" = "closed_won"'))
        else:
            first_of: dict[str, str] = {}
            for label, target in table.items():
                key = str(label).strip()
                if not key:
                    problems.append(Problem(f'activities."{shown(label)}"', "blank label; a "
                                            "blank activity cannot be mapped: delete the line"))
                elif key in first_of:
                    problems.append(Problem(
                        f"activities.{label}", f'the same label as "{shown(first_of[key])}" once '
                        "surrounding spaces are trimmed; keep one of the two lines"))
                elif not isinstance(target, str) or not is_canonical(target.strip()):
                    problems.append(Problem(
                        f"activities.{label}",
                        f"{shown(repr(target))} is not a canonical activity; use one of "
                        f"{', '.join(CANONICAL_ACTIVITIES)} or stage:<name>"))
                else:
                    activities[key] = target.strip()
                first_of.setdefault(key, str(label))
        order = raw.get("order", {})
        stages: list[str] = []
        if not isinstance(order, AbcMapping):
            problems.append(Problem("order", "must be a table with stages = [...]"))
        else:
            for key in order:
                if key != "stages":
                    problems.append(Problem(f"order.{key}", "unknown key; only stages = [...]"))
            listed = order.get("stages", [])
            if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
                problems.append(Problem("order.stages", 'must be a list of stage names, e.g. '
                                                        '["prospecting", "engaging"]'))
            else:
                stages = [s.removeprefix(STAGE_PREFIX).strip() for s in listed]
                seen = [s for i, s in enumerate(stages) if s in stages[:i]]
                if seen:
                    problems.append(Problem("order.stages", f"{shown(repr(seen[0]))} is listed twice; "
                                                            "list each stage once"))
        if problems:
            raise LogError(problems, source)
        return cls(activities=activities, stages=stages, source=source, date_format=date_format)

    def apply(self, labels: pd.Series | Iterable[str]) -> pd.Series:
        """Canonical activity for each label; labels neither mapped nor canonical become NaN.

        Each distinct label is looked up once, so a million rows cost one hash map.
        """
        values = labels if isinstance(labels, pd.Series) else pd.Series(list(labels), dtype=object)
        table: dict[object, object] = {}
        for raw in pd.unique(values.dropna()):
            label = str(raw).strip()
            target = self.activities.get(label, label if is_canonical(label) else None)
            table[raw] = target if target is not None else np.nan
        return values.map(table).astype(object)

    def unmapped(self, labels: pd.Series | Iterable[str]) -> list[str]:
        """Distinct labels that the mapping does not cover and that are not canonical."""
        values = labels if isinstance(labels, pd.Series) else pd.Series(list(labels), dtype=object)
        missing = self.apply(values).isna() & values.notna()
        return sorted({str(v).strip() for v in values[missing]})


def load_mapping(path: str | Path) -> Mapping:
    """Read a mapping TOML file; every problem is reported at once as a ``LogError``."""
    source = str(path)
    text = read_text(path, source, what="UTF-8 TOML", option=False)
    if "\x00" in text:
        lines = nul_lines(text)
        raise LogError([Problem("", f"NUL character (\\x00) on line{'s' if len(lines) > 1 else ''} "
                                    f"{', '.join(map(str, lines[:5]))}; a mapping file is plain "
                                    "text: delete them, or write the file again")], source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LogError([Problem("", f"invalid TOML: {shown(err, 120)}; fix the syntax there "
                                    '(a line reads "Raw label" = "canonical_activity")')],
                       source) from None
    return Mapping.from_dict(raw, source)
