"""The snapshot's tables as files: their columns (type, unit, meaning), and the reading of one
table's text into typed columns with every problem of every row found at once.

One spec, ``TABLES``, serves the writer, the reader, the checks and docs/state-format.md. Rows
are numbered as a spreadsheet shows them (the header is row 1), so a problem in a hand-written
CSV points at the line to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.raw_table import clean_text, parse_times, row_problem
from revsim.errors import Problem, suggest
from revsim.state.snapshot import (
    STATUSES,
    Customer,
    OpenInvoice,
    OpenItem,
    PoolLoad,
)


@dataclass(frozen=True)
class Column:
    """One column of a snapshot table."""

    name: str
    kind: str  # text, time, date, number, count, months, status
    required: bool
    unit: str
    meaning: str


@dataclass(frozen=True)
class Table:
    """A snapshot table: its file, the record each row becomes, and its columns."""

    name: str
    record: type
    key: str  # the column that must be unique
    columns: tuple[Column, ...]

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, kind: str, required: bool, unit: str, meaning: str) -> Column:
    return Column(name, kind, required, unit, meaning)


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("open_items", OpenItem, "id", (
        _c("id", "text", True, "", "The lead's or deal's id (unique)."),
        _c("stage", "text", True, "", "The scenario stage it is in (a `[stages]` name)."),
        _c("entered_stage", "time", True, "UTC",
           "When it entered that stage (its current visit)."),
        _c("created", "time", False, "UTC",
           "When it was created; its age is as_of - created. Blank: `entered_stage`."),
        _c("amount", "number", False, "scenario currency",
           "Deal value. Blank: the scenario's value distribution decides."),
        _c("source", "text", False, "", "Its lead source (a `[sources]` name)."),
        _c("segment", "text", False, "", "Its segment (a `[segments]` name)."),
        _c("score", "number", False, "", "Lead score."),
        _c("pool", "text", False, "",
           "The staff pool that owns it (a `[pools]` name; the stage's own pool)."),
        _c("status", "status", False, "",
           "`waiting` (queued for staff), `in_work` (a person works on it) or blank "
           "(not recorded: placed by what the stage is)."),
        _c("started_work", "time", False, "UTC",
           "When work on it began in this stage, if known (needs status `in_work`)."),
    )),
    Table("open_invoices", OpenInvoice, "id", (
        _c("id", "text", True, "", "The invoice's id (unique)."),
        _c("issued", "date", True, "", "Issue date."),
        _c("due", "date", True, "", "Due date (not before `issued`)."),
        _c("outstanding", "number", True, "scenario currency",
           "Amount still owed at the as-of date (more than 0)."),
        _c("dunning_step", "count", False, "reminders",
           "Reminders already sent (blank: 0)."),
        _c("segment", "text", False, "", "The customer's segment (a `[segments]` name)."),
    )),
    Table("customers", Customer, "id", (
        _c("id", "text", True, "", "The customer's (or contract's) id (unique)."),
        _c("start", "date", True, "", "Contract start (service start)."),
        _c("term_months", "months", True, "months", "Contract term (a whole number > 0)."),
        _c("next_renewal", "date", True, "", "Next renewal date (on or after as-of)."),
        _c("arr", "number", True, "scenario currency a year", "Annual contract value."),
        _c("segment", "text", False, "", "Its segment (a `[segments]` name)."),
    )),
    Table("pools", PoolLoad, "pool", (
        _c("pool", "text", True, "", "A staff pool (a `[pools]` name; unique)."),
        _c("wip", "count", True, "items", "Items a person of the pool is working on."),
        _c("queue", "count", True, "items", "Items waiting for the pool."),
    )),
)}


def _where(prefix: str, column: str) -> str:
    return f"{prefix}{column}"


def parse_table(table: Table, raw: pd.DataFrame, prefix: str = "") -> tuple[pd.DataFrame,
                                                                             list[Problem]]:
    """Typed columns of ``raw`` (text, indexed by spreadsheet row) and every problem found.

    Missing optional columns are blank; ``prefix`` (e.g. ``"open_items.csv: "``) starts each
    problem's location so that a folder's problems name their file.
    """
    problems: list[Problem] = []
    names = [c.name for c in table.columns]
    raw = raw.rename(columns=lambda c: str(c).strip())
    for col in raw.columns:
        if col not in names:
            problems.append(Problem(_where(prefix, col), f"unknown column; "
                                    f"{suggest(col, names)} (see docs/state-format.md)"))
    missing = [c.name for c in table.columns if c.required and c.name not in raw.columns]
    if missing:
        problems.append(Problem(prefix.removesuffix(": "), (
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(columns found: {', '.join(map(str, raw.columns)) or 'none'}); add "
            f"{'them' if len(missing) > 1 else 'it'} to the header")))
    rows = raw.index.to_numpy(dtype=np.int64)
    out = pd.DataFrame(index=raw.index)
    for c in table.columns:
        text = (clean_text(raw[c.name]) if c.name in raw.columns
                else pd.Series(np.nan, index=raw.index, dtype=object))
        where = _where(prefix, c.name)
        blank = text.isna().to_numpy()
        if c.required and c.name in raw.columns and blank.any():
            problems.append(row_problem(where, rows[blank], f"blank {c.name}",
                                        f"fill in the {c.name} or delete the row"))
        out[c.name] = _typed(c, text, rows, where, problems)
    return out, problems


def _typed(c: Column, text: pd.Series, rows: np.ndarray, where: str,
           problems: list[Problem]) -> pd.Series:
    if c.kind == "text":
        return text
    if c.kind == "status":
        lower = text.str.lower()
        bad = (lower.notna() & ~lower.isin(STATUSES)).to_numpy()
        if bad.any():
            problems.append(row_problem(where, rows[bad], "unknown status",
                                        "use waiting, in_work or leave it blank",
                                        text[bad].head(50)))
        return lower.where(~bad).fillna("")
    if c.kind in ("time", "date"):
        stamps, _, _ = parse_times(text, rows, where, problems)
        naive = stamps.dt.tz_convert(None)
        return naive.dt.normalize() if c.kind == "date" else naive
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    bad = (text.notna() & ~np.isfinite(numbers)).to_numpy()
    if bad.any():
        problems.append(row_problem(where, rows[bad], "not a number",
                                    "write plain numbers such as 1054.50 (no currency signs or "
                                    "thousands separators)", text[bad].head(50)))
    numbers = numbers.where(~bad)
    if c.kind in ("count", "months"):
        lowest = 1 if c.kind == "months" else 0
        whole = numbers.notna() & ((numbers != np.round(numbers)) | (numbers < lowest))
        if whole.any():
            problems.append(row_problem(where, rows[whole.to_numpy()],
                                        f"not a whole number >= {lowest}",
                                        f"write the {c.unit} as a whole number",
                                        text[whole].head(50)))
        numbers = numbers.where(~whole)
    return numbers


def row_checks(table: Table, frame: pd.DataFrame, as_of: pd.Timestamp,
               prefix: str = "") -> list[Problem]:
    """Problems across the columns of each row, and duplicate keys, given the as-of time."""
    problems: list[Problem] = []
    rows = frame.index.to_numpy(dtype=np.int64)

    def flag(mask: Any, column: str, what: str, fix: str, values: Any = None) -> None:
        hits = np.asarray(mask, dtype=bool)
        if hits.any():
            shown = None if values is None else pd.Series(values)[hits].head(50)
            problems.append(row_problem(_where(prefix, column), rows[hits], what, fix, shown))

    key = frame[table.key]
    dup = (key.notna() & key.duplicated(keep=False)).to_numpy()
    flag(dup, table.key, f"duplicate {table.key}", f"give each row its own {table.key} (or "
         "delete the repeated rows)", key.to_numpy())
    stamp = f"{as_of:%Y-%m-%dT%H:%M:%S}"
    if table.name == "open_items":
        created = frame["created"].fillna(frame["entered_stage"])
        flag(frame["entered_stage"] > as_of, "entered_stage", f"after the as-of time {stamp} "
             "(a negative age)", "check the time, or take the snapshot at a later as-of")
        flag(frame["created"] > as_of, "created", f"after the as-of time {stamp} (a negative "
             "age)", "check the time, or take the snapshot at a later as-of")
        flag(frame["entered_stage"] < created, "entered_stage", "before the item was created",
             "check entered_stage and created (created comes first)")
        started = frame["started_work"]
        flag((started < frame["entered_stage"]) | (started > as_of), "started_work",
             f"outside the stage visit (before entered_stage or after {stamp})",
             "check the time work began")
        flag(started.notna() & (frame["status"] != "in_work"), "started_work",
             "given for an item that is not in work", "set status to in_work or clear "
             "started_work")
        flag(frame["amount"] < 0, "amount", "negative amount", "write the deal value (>= 0)",
             frame["amount"].to_numpy())
    elif table.name == "open_invoices":
        flag(frame["issued"] > as_of, "issued", f"after the as-of time {stamp} (a negative "
             "age)", "leave out invoices issued after as-of")
        flag(frame["due"] < frame["issued"], "due", "before the issue date",
             "check the due and issue dates")
        flag(frame["outstanding"] <= 0, "outstanding", "nothing outstanding (the invoice is "
             "settled)", "leave settled invoices out, or write the amount still owed",
             frame["outstanding"].to_numpy())
    elif table.name == "customers":
        flag(frame["start"] > as_of, "start", f"after the as-of time {stamp}",
             "leave out contracts that start after as-of")
        flag(frame["next_renewal"] < as_of.normalize(), "next_renewal",
             f"before the as-of date {as_of:%Y-%m-%d}", "give the next renewal on or after "
             "as-of")
        flag(frame["next_renewal"] < frame["start"], "next_renewal", "before the contract "
             "start", "check the start and renewal dates")
        flag(frame["arr"] < 0, "arr", "negative", "write the annual contract value (>= 0)",
             frame["arr"].to_numpy())
    return problems


def records(table: Table, frame: pd.DataFrame) -> tuple[Any, ...]:
    """The table's rows as its typed records (``frame`` as :func:`parse_table` returns it)."""
    names = [f.name for f in fields(table.record)]
    columns = []
    for name in names:
        c = table.column(name)
        values = frame[name]
        if c.kind == "time":
            col = [None if pd.isna(v) else v.to_pydatetime() for v in values]
        elif c.kind == "date":
            col = [None if pd.isna(v) else v.date() for v in values]
        elif c.kind in ("count", "months"):
            col = [0 if pd.isna(v) else int(v) for v in values]
        elif c.kind == "number":
            col = [None if pd.isna(v) else float(v) for v in values]
        elif c.kind == "status":
            col = list(values)
        else:
            col = [None if pd.isna(v) else str(v) for v in values]
        columns.append(col)
    if table.name == "open_items":
        created, entered = names.index("created"), names.index("entered_stage")
        columns[created] = [c or e for c, e in zip(columns[created], columns[entered],
                                                   strict=True)]
    return tuple(table.record(*row) for row in zip(*columns, strict=True))


def frame_of(table: Table, rows: tuple[Any, ...]) -> pd.DataFrame:
    """Typed columns of a table's records, indexed like the CSV that holds them (from row 2)."""
    data: dict[str, Any] = {}
    for c in table.columns:
        values = [getattr(r, c.name) for r in rows]
        if c.kind in ("time", "date"):
            data[c.name] = pd.to_datetime(pd.Series(values, dtype=object))
        elif c.kind in ("number", "count", "months"):
            data[c.name] = pd.Series([np.nan if v is None else v for v in values], dtype=float)
        else:
            data[c.name] = pd.Series(values, dtype=object)
    frame = pd.DataFrame(data)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    return frame


def text_of(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """The CSV text of typed columns: times ISO 8601 to the second, dates as dates, blanks
    empty; numbers stay numbers (written to 10 significant digits)."""
    out = pd.DataFrame(index=frame.index)
    for c in table.columns:
        values = frame[c.name]
        if c.kind == "time":
            out[c.name] = values.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
        elif c.kind == "date":
            out[c.name] = values.dt.strftime("%Y-%m-%d").fillna("")
        elif c.kind in ("count", "months"):
            out[c.name] = values.astype("Int64")
        else:
            out[c.name] = values
    return out


DEAD_ITEMS = Table("dead_items", tuple, "id", (
    _c("id", "text", True, "", "The item's id."),
    _c("reason", "text", True, "", "Why the builder treats it as dead (see the manifest's "
       "`dead` counts)."),
))
"""Items open in the log but treated as dead: listed beside the counts, never in open_items."""


KINDS = {"text": "text", "time": "time (ISO 8601)", "date": "date (YYYY-MM-DD)",
         "number": "number", "count": "whole number >= 0", "months": "whole number > 0",
         "status": "`waiting`, `in_work` or blank"}


def markdown() -> str:
    """The column tables of docs/state-format.md (tests keep the two equal)."""
    out = []
    for table in (*TABLES.values(), DEAD_ITEMS):
        out += [f"### {table.file}", "", "| column | required | type | unit | meaning |",
                "|---|---|---|---|---|"]
        out += [f"| `{c.name}` | {'yes' if c.required else 'no'} | {KINDS[c.kind]} | {c.unit} "
                f"| {c.meaning} |" for c in table.columns]
        out.append("")
    return "\n".join(out)
