"""Read and validate an event log in the canonical format ("revsim event log v1").

One row per event: ``case_id``, ``activity``, ``timestamp`` are required; ``object_type``,
``parent_id``, ``account_id``, ``resource``, ``role``, ``lifecycle``, ``amount``, ``currency``,
``due_date`` are optional, and any other column is passed through as an attribute. The pm4py/XES
spellings ``case:concept:name``, ``concept:name``, ``time:timestamp``, ``org:resource``,
``org:role`` and ``lifecycle:transition`` are accepted too (``case:<attr>`` becomes ``<attr>``).

Everything is checked in one pass over whole columns and every problem is reported together, as
a ``LogError`` naming the file, the rows (spreadsheet numbering: the header is row 1), the value
and the fix. No row is dropped silently: ``EventLog.skipped`` counts skipped rows by reason.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.mapping import CANONICAL_ACTIVITIES, STAGE_PREFIX, Mapping, canonical_mask, load_mapping
from revsim.errors import Problem, ProblemsError

REQUIRED = ("case_id", "activity", "timestamp")
OPTIONAL = ("object_type", "parent_id", "account_id", "resource", "role", "lifecycle", "amount",
            "currency", "due_date")
COLUMNS = REQUIRED + OPTIONAL
XES_ALIASES = {
    "case:concept:name": "case_id",
    "concept:name": "activity",
    "time:timestamp": "timestamp",
    "org:resource": "resource",
    "org:role": "role",
    "lifecycle:transition": "lifecycle",
}
OBJECT_TYPES = ("lead", "opportunity", "invoice", "payment")
TERMINALS = ("closed_won", "closed_lost", "disqualified")
"""A case reaches at most one of these."""
ENDINGS = TERMINALS + ("converted", "invoice_paid", "invoice_written_off", "invoice_voided",
                       "churned")
"""Activities that end a case's life: none may come before the case's first other event."""
_ACTIVITY_TYPE = {
    **dict.fromkeys(["lead_created", "lead_assigned", "first_touch", "contacted", "mql", "sql",
                     "disqualified", "recycled", "converted"], "lead"),
    **dict.fromkeys(["opportunity_created", "closed_won", "closed_lost", "onboarding_started",
                     "go_live", "churned"], "opportunity"),
    **dict.fromkeys(["invoice_issued", "reminder_sent", "payment_failed", "invoice_written_off",
                     "invoice_voided"], "invoice"),
    **dict.fromkeys(["payment_received", "invoice_paid"], "payment"),
}
SHOW_ROWS = 5
SHOW_VALUES = 3
ISO_HINT = "write ISO 8601 such as 2017-03-01T09:30:00+00:00 (a date alone means midnight)"


class LogError(ProblemsError, ValueError):
    """An event log (or a raw export) failed validation: each problem names the file, the
    column, the rows and the fix."""


def rows_text(rows: Sequence[int] | np.ndarray) -> str:
    """``row 7`` or ``rows 2, 5, 9, 12, 40 (+17 more)`` (sorted, first five shown)."""
    ordered = np.sort(np.asarray(rows, dtype=np.int64))
    shown = ", ".join(str(int(r)) for r in ordered[:SHOW_ROWS])
    more = f" (+{len(ordered) - SHOW_ROWS} more)" if len(ordered) > SHOW_ROWS else ""
    return f"row{'s' if len(ordered) > 1 else ''} {shown}{more}"


def values_text(values: Iterable[Any]) -> str:
    """The distinct values, in order, quoted: ``"x"``, ``"x" (and "y", "z", +4 other values)``."""
    distinct = list(dict.fromkeys(str(v) for v in values))
    first = f'"{distinct[0]}"' if distinct else '""'
    rest = [f'"{v}"' for v in distinct[1:SHOW_VALUES]]
    extra = len(distinct) - SHOW_VALUES
    if extra > 0:
        rest.append(f"+{extra} other value{'s' if extra > 1 else ''}")
    return f"{first} (and {', '.join(rest)})" if rest else first


def row_problem(column: str, rows: np.ndarray, what: str, fix: str,
                values: Iterable[Any] | None = None) -> Problem:
    """A problem about some rows of one column: where, what (with the values) and the fix."""
    shown = f" {values_text(values)}" if values is not None else ""
    return Problem(column, f"{rows_text(rows)}: {what}{shown}; {fix}")


def parse_times(values: pd.Series, rows: np.ndarray, column: str,
                problems: list[Problem]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse ISO 8601 times to UTC; returns (times, naive mask, offset-aware mask).

    Values with an offset are converted to UTC; values without one are taken as UTC (the caller
    rejects a mix of the two); a date alone is midnight UTC and counts as neither. Blank values
    give NaT; unparseable ones give NaT and a problem.
    """
    index = values.index
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        stamps = values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        aware = values.notna()
        return stamps, pd.Series(False, index=index), aware
    if pd.api.types.is_datetime64_dtype(values.dtype):
        stamps = values.dt.tz_localize("UTC").astype("datetime64[ns, UTC]")
        return stamps, values.notna(), pd.Series(False, index=index)
    text = values.astype(object)
    present = text.notna().to_numpy()
    stamps = pd.Series(pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce"),
                       index=index).astype("datetime64[ns, UTC]")
    failed = present & stamps.isna().to_numpy()
    if failed.any():  # surrounding spaces, or text that is not a time at all
        text = text.copy()
        text[failed] = _text(text[failed])
        present = text.notna().to_numpy()
        stamps[failed] = pd.to_datetime(text[failed], format="ISO8601", utc=True, errors="coerce")
    bad = present & stamps.isna().to_numpy()
    if bad.any():
        problems.append(row_problem(column, rows[bad], "unparseable time", ISO_HINT,
                                    text[bad].head(50)))
    ok = present & ~bad
    if not ok.any():
        return stamps, pd.Series(False, index=index), pd.Series(False, index=index)
    known = text[ok].astype(str)
    offset = np.zeros(len(text), dtype=bool)
    offset[ok] = known.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool)
    clock = np.zeros(len(text), dtype=bool)  # longer than YYYY-MM-DD: has a time of day
    clock[ok] = known.str.len().to_numpy() > 10
    naive = ok & clock & ~offset
    return stamps, pd.Series(naive, index=index), pd.Series(offset, index=index)


_OFFSET = r"^\s*.{10}[Tt ].*(?:[Zz]|[+-]\d\d(?::?\d\d)?)\s*$"


def to_utc(value: str | dt.date | dt.datetime | pd.Timestamp) -> pd.Timestamp:
    """One time as a UTC Timestamp (naive -> UTC); raises ValueError when unparseable."""
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        raise ValueError(f"not a time: {value!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass
class EventLog:
    """A validated event log, ready for calibration.

    ``events`` has the canonical columns (``case_id``, ``activity``, ``timestamp`` in UTC,
    ``object_type``, ``parent_id``, ``account_id``, ``resource``, ``role``, ``lifecycle``,
    ``amount``, ``currency``, ``due_date`` in UTC) then the attribute columns; it is sorted by
    case then time (stable) and its index, named ``row``, holds each event's source row number.
    """

    events: pd.DataFrame
    as_of: pd.Timestamp
    skipped: dict[str, int]
    source: str

    @property
    def start(self) -> pd.Timestamp:
        """Time of the first event."""
        return pd.Timestamp(self.events["timestamp"].min())

    @property
    def end(self) -> pd.Timestamp:
        """Time of the last event (at or before ``as_of``)."""
        return pd.Timestamp(self.events["timestamp"].max())

    @property
    def n_cases(self) -> int:
        """Number of distinct cases."""
        return int(self.events["case_id"].nunique())

    def open_cases(self) -> pd.Index:
        """Cases with no ending activity (won, lost, disqualified, converted, paid, ...) by as-of.

        Their durations are right-censored at ``as_of``.
        """
        ended = self.events.loc[self.events["activity"].isin(ENDINGS), "case_id"].unique()
        cases = pd.Index(self.events["case_id"].unique())
        return cases.difference(pd.Index(ended))

    def describe(self) -> str:
        """A short plain summary: cases, events per object type, period, as-of, skipped rows."""
        ev = self.events
        lines = [f"event log {self.source}: {_count(self.n_cases, 'case')}, "
                 f"{_count(len(ev), 'event')}"]
        per_type = ev.groupby("object_type", sort=True).agg(
            cases=("case_id", "nunique"), events=("case_id", "size"))
        for kind, row in per_type.iterrows():
            lines.append(f"  {kind}: {_count(row['cases'], 'case')}, {_count(row['events'], 'event')}")
        lines.append(f"  period: {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC; "
                     f"as of {self.as_of:%Y-%m-%d %H:%M} UTC")
        lines.append(f"  open at as-of (censored): {_count(len(self.open_cases()), 'case')}")
        if self.skipped:
            parts = ", ".join(f"{n:,} {reason}" for reason, n in self.skipped.items())
            lines.append(f"  skipped rows: {parts}")
        else:
            lines.append("  skipped rows: none")
        return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def read_event_log(source: str | Path | pd.DataFrame, *, mapping: Mapping | str | Path | None = None,
                   as_of: str | dt.datetime | pd.Timestamp | None = None,
                   name: str | None = None) -> EventLog:
    """Read, map and validate an event log (CSV path or DataFrame); raises ``LogError``.

    ``mapping`` turns raw activity labels into canonical ones (a ``Mapping`` or a TOML path);
    ``as_of`` is the extract time (default: the latest event); later events are skipped and
    counted. A DataFrame source is numbered like the CSV it would write (first data row = 2)
    unless its index is named ``row``; its ``attrs["source"]`` and ``attrs["skipped"]`` (set by
    the adapters) name it and carry the rows an adapter skipped.
    """
    frame, label, skipped = _load(source, name)
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    frame, problems = _rename(frame)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        problems.append(Problem("", (
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(columns found: {', '.join(map(str, frame.columns)) or 'none'}); rename the columns "
            "to case_id, activity, timestamp (or the XES names case:concept:name, concept:name, "
            "time:timestamp), or read the export with an adapter from revsim.calibrate")))
    if problems:
        raise LogError(problems, label)

    blank = _blank_rows(frame)
    if blank.any():
        skipped["blank line"] = skipped.get("blank line", 0) + int(blank.sum())
        frame = frame.loc[~blank.to_numpy()]
    if frame.empty:
        raise LogError([Problem("", "no events in the file; export the log with at least one "
                                    "row under the header")], label)
    rows = frame.index.to_numpy(dtype=np.int64)
    events, problems = _columns(frame, rows, mapping)
    cut = None
    if as_of is not None:
        try:
            cut = to_utc(as_of)
        except (ValueError, TypeError):
            problems.append(Problem("as_of", f'unparseable time "{as_of}"; {ISO_HINT}'))
    # Checks across rows use the rows whose case, activity and time are all known, so that
    # they are reported together with the problems of single values.
    known = events[["case_id", "activity", "timestamp"]].notna().all(axis=1).to_numpy()
    problems += _consistency(events.loc[known], rows[known])
    if problems:
        raise LogError(problems, label)

    cut = cut if cut is not None else pd.Timestamp(events["timestamp"].max())
    late = (events["timestamp"] > cut).to_numpy()
    if late.any():
        skipped["after as-of"] = skipped.get("after as-of", 0) + int(late.sum())
        events = events.loc[~late]
    if events.empty:
        raise LogError([Problem("as_of", f"every event is after the as-of time {cut}; give a "
                                         "later as_of (the extract time)")], label)
    events = _sort(events)
    return EventLog(events=events, as_of=cut, skipped=skipped, source=label)


def _sort(events: pd.DataFrame) -> pd.DataFrame:
    """Sorted by case id then time, stable (ties keep file order)."""
    codes, _ = pd.factorize(events["case_id"].to_numpy(dtype=object), sort=True)
    ts = events["timestamp"].dt.tz_localize(None).to_numpy().view(np.int64)
    return events.iloc[np.lexsort((ts, codes))]


def _load(source: str | Path | pd.DataFrame, name: str | None) -> tuple[pd.DataFrame, str, dict[str, int]]:
    """The raw table as strings, indexed by spreadsheet row number; its label; adapter skips."""
    if isinstance(source, pd.DataFrame):
        label = name or str(source.attrs.get("source", "<DataFrame>"))
        skipped = {str(k): int(v) for k, v in dict(source.attrs.get("skipped", {})).items()}
        frame = source.copy()
        if frame.index.name != "row":
            frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame, label, skipped
    label = name or str(source)
    frame = read_csv_text(source, label, skip_blank_lines=False)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, label, {}


DELIMITERS = (",", ";", "\t", "|")


def _delimiter(path: str | Path) -> str:
    """The separator the header line uses most (spreadsheet exports in many locales write
    ``;``, some tools tabs); a comma when in doubt."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next((line for line in fh if line.strip()), "")
    except (OSError, UnicodeDecodeError):
        return ","  # read_csv reports the problem in its own words
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier (the comma)
    return best if counts[best] > 0 else ","


def read_csv_text(path: str | Path, label: str, *, skip_blank_lines: bool = True) -> pd.DataFrame:
    """A CSV file as strings (blank cells NaN); unreadable files raise ``LogError``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                               skip_blank_lines=skip_blank_lines, encoding="utf-8-sig",
                               index_col=False, sep=_delimiter(path))
    except FileNotFoundError:
        raise LogError([Problem("", "file not found; check the path")], label) from None
    except pd.errors.EmptyDataError:
        raise LogError([Problem("", "the file is empty; export it again with its header row")],
                       label) from None
    except UnicodeDecodeError:
        raise LogError([Problem("", "not UTF-8 text; save the file as CSV UTF-8")], label) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
        detail = ("every row has more values than the header" if isinstance(err, Warning)
                  else str(err).removeprefix("Error tokenizing data. C error: ").strip())
        raise LogError([Problem("", f"not a readable CSV ({detail}); rows must have as many values "
                                    "as the header: quote values that contain commas or line "
                                    "breaks")], label) from None
    except OSError as err:
        raise LogError([Problem("", f"cannot read: {err}")], label) from None


def _rename(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Map XES/pm4py names to canonical ones; ``case:<attr>`` -> ``<attr>`` when free."""
    problems: list[Problem] = []
    renames: dict[str, str] = {}
    for col in frame.columns:
        target = XES_ALIASES.get(col)
        if target is None and col.startswith("case:") and col != "case:concept:name":
            target = col.removeprefix("case:")
            if target in frame.columns or target in COLUMNS:
                continue
        if target is None:
            continue
        if target in frame.columns:
            problems.append(Problem(col, f"both {col} and {target} are present; keep one of them"))
        else:
            renames[col] = target
    dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    for col in dupes:
        problems.append(Problem(col, "column appears more than once; keep one"))
    return frame.rename(columns=renames), problems


def _blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows where every cell is missing (an empty line or a line of commas)."""
    return frame.isna().all(axis=1)


def _text(values: pd.Series, *, lower: bool = False) -> pd.Series:
    """Stripped strings with missing and blank values as NaN (object dtype).

    Strips each distinct value once, so low-cardinality columns cost one factorize.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    clean = np.empty(len(uniques) + 1, dtype=object)
    clean[:-1] = [str(u).strip().lower() if lower else str(u).strip() for u in uniques]
    clean[-1] = ""
    clean[clean == ""] = np.nan
    return pd.Series(clean[codes], index=values.index, dtype=object)


def _columns(frame: pd.DataFrame, rows: np.ndarray,
             mapping: Mapping | None) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed canonical columns plus attributes; problems with single values."""
    problems: list[Problem] = []
    out = pd.DataFrame(index=frame.index)
    no_text = pd.Series(np.nan, index=frame.index, dtype=object)
    for col in ("case_id", "activity"):
        out[col] = _text(frame[col])
        missing = out[col].isna().to_numpy()
        if missing.any():
            problems.append(row_problem(col, rows[missing], f"blank {col}",
                                        f"fill in the {col} or delete the row"))
    raw = out["activity"]
    if mapping is not None:
        canon = mapping.apply(raw)
        fix = f"add the label to [activities] in the mapping file{_in(mapping.source)}"
    else:
        canon = raw.where(canonical_mask(raw))
        fix = ("use canonical activities (" + ", ".join(CANONICAL_ACTIVITIES) +
               ", stage:<name>) or pass a mapping file that maps these labels")
    unknown = (canon.isna() & raw.notna()).to_numpy()
    if unknown.any():
        labels = raw[unknown]
        groups = pd.Series(rows[unknown]).groupby(labels.to_numpy(), sort=False)
        for i, (label, label_rows) in enumerate(groups):
            if i == 10:
                problems.append(Problem("activity", f"+{groups.ngroups - 10} more unmapped labels; "
                                                    f"{fix}"))
                break
            problems.append(row_problem("activity", label_rows.to_numpy(),
                                        "activity not in the mapping:" if mapping is not None
                                        else "not a canonical activity:", fix, [label]))
    out["activity"] = canon.astype(object).where(canon.notna(), np.nan)

    out["timestamp"], naive, aware = parse_times(frame["timestamp"], rows, "timestamp", problems)
    blank_ts = (out["timestamp"].isna() & _text(frame["timestamp"]).isna()).to_numpy()
    if blank_ts.any():
        problems.append(row_problem("timestamp", rows[blank_ts], "blank timestamp",
                                    f"fill in the time of the event; {ISO_HINT}"))
    if "due_date" in frame.columns:
        out["due_date"], due_naive, due_aware = parse_times(frame["due_date"], rows, "due_date",
                                                            problems)
    else:
        out["due_date"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
        due_naive = due_aware = pd.Series(False, index=frame.index)
    any_naive = naive.to_numpy() | due_naive.to_numpy()
    any_aware = aware.to_numpy() | due_aware.to_numpy()
    if any_naive.any() and any_aware.any():
        due_text = frame["due_date"] if "due_date" in frame.columns else frame["timestamp"]
        shown_aware = frame["timestamp"].where(aware, due_text).astype(str).to_numpy()
        shown_naive = frame["timestamp"].where(naive, due_text).astype(str).to_numpy()
        first = int(np.argmax(any_aware))
        problems.append(row_problem(
            "timestamp", rows[any_naive], "time without a UTC offset while other rows have one "
            f'(e.g. row {rows[first]} "{shown_aware[first]}"):',
            "give every time an offset such as +00:00, or none (then all are read as UTC)",
            shown_naive[any_naive][:50]))

    if "object_type" in frame.columns:
        given = _text(frame["object_type"], lower=True)
        bad = (given.notna() & ~given.isin(OBJECT_TYPES)).to_numpy()
        if bad.any():
            problems.append(row_problem("object_type", rows[bad], "unknown object_type",
                                        "use lead, opportunity, invoice or payment, or leave it "
                                        "blank to infer it from the activity",
                                        given[bad].head(50)))
        given = given.where(~bad)
    else:
        given = pd.Series(np.nan, index=frame.index, dtype=object)
    inferred = _infer_types(out["case_id"], out["activity"]).to_numpy(dtype=object)
    out["object_type"] = np.where(given.notna().to_numpy(), given.to_numpy(dtype=object), inferred)

    for col in ("parent_id", "account_id", "resource", "role", "currency"):
        out[col] = _text(frame[col]) if col in frame.columns else no_text
    out["lifecycle"] = (_text(frame["lifecycle"], lower=True).fillna("complete")
                        if "lifecycle" in frame.columns else "complete")
    if "amount" in frame.columns:
        text = _text(frame["amount"])
        amount = pd.to_numeric(text, errors="coerce")
        bad = (amount.isna() & text.notna()).to_numpy()
        if bad.any():
            problems.append(row_problem("amount", rows[bad], "amount is not a number",
                                        "write plain numbers such as 1054.50 (no currency signs "
                                        "or thousands separators)", text[bad].head(50)))
        out["amount"] = amount.astype(float)
    else:
        out["amount"] = np.nan
    out = out[list(COLUMNS)]
    for col in frame.columns:
        if col not in COLUMNS:
            out[col] = _attribute(frame[col])
    return out, problems


def _in(source: str | None) -> str:
    return f" {source}" if source else ""


def _infer_types(case_id: pd.Series, activity: pd.Series) -> pd.Series:
    """Object type from the activity; a ``stage:`` event belongs to a lead when its case has
    lead activities and no opportunity ones, otherwise to an opportunity."""
    by_activity = activity.map(_ACTIVITY_TYPE)
    stages = [a for a in pd.unique(activity.dropna()) if str(a).startswith(STAGE_PREFIX)]
    is_stage = activity.isin(stages).to_numpy()
    if is_stage.any():
        flags = pd.DataFrame({"case": case_id, "lead": by_activity.eq("lead"),
                              "opp": by_activity.eq("opportunity")})
        per_case = flags.groupby("case", sort=False, dropna=False)[["lead", "opp"]].transform("any")
        lead_only = per_case["lead"].to_numpy(dtype=bool) & ~per_case["opp"].to_numpy(dtype=bool)
        stage_type = np.where(lead_only, "lead", "opportunity")
        values = by_activity.to_numpy(dtype=object)
        values[is_stage] = stage_type[is_stage]
        return pd.Series(values, index=activity.index)
    return by_activity


def _attribute(values: pd.Series) -> pd.Series:
    """Pass-through attribute column: numbers when every non-blank value is one, else text."""
    if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
        return values
    text = _text(values)
    numbers = pd.to_numeric(text, errors="coerce")
    if text.notna().any() and numbers.notna().sum() == text.notna().sum():
        return numbers
    return text


def _consistency(events: pd.DataFrame, rows: np.ndarray) -> list[Problem]:
    """Order, duplicates, negative durations and repeated terminals (whole-column checks)."""
    problems: list[Problem] = []
    case = events["case_id"].to_numpy(dtype=object)
    codes, _ = pd.factorize(case)
    activity = events["activity"].to_numpy(dtype=object)
    ts = events["timestamp"].dt.tz_localize(None).to_numpy().view(np.int64)
    stamps = events["timestamp"]

    def iso(i: int) -> str:
        return f"{stamps.iloc[i]:%Y-%m-%dT%H:%M:%S+00:00}"

    order = np.argsort(codes, kind="stable")
    same = codes[order][1:] == codes[order][:-1]
    back = same & (ts[order][1:] < ts[order][:-1])
    if back.any():
        later, earlier = order[1:][back], order[:-1][back]
        i, j = later[0], earlier[0]
        problems.append(row_problem(
            "timestamp", rows[later], "event earlier than the previous event of its case in the "
            f'file (e.g. case "{case[i]}": row {rows[i]} at {iso(i)} comes after row {rows[j]} at '
            f"{iso(j)})", "check these times; if they are right, sort each case's rows by time"))

    key = events[["case_id", "activity", "timestamp", "lifecycle"]]
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        problems.append(row_problem(
            "activity", rows[dup], "duplicate event: same case, activity and time as an earlier "
            f'row (e.g. case "{case[i]}" {activity[i]} at {iso(i)})', "delete the repeated rows"))

    if events["due_date"].notna().any():
        # only the invoice's own issue date must not be after its due date: reminders and
        # payments carry the due date too and naturally come after it
        due = events["due_date"].where(events["activity"] == "invoice_issued")
        early = (due < events["timestamp"]).to_numpy()
        if early.any():
            i = int(np.argmax(early))
            problems.append(row_problem(
                "due_date", rows[early], "due date before the event's time (negative duration; "
                f'e.g. case "{case[i]}" issued {iso(i)}, due {due.iloc[i]:%Y-%m-%d})',
                "check the due dates and the invoice dates"))

    ending = np.isin(activity, ENDINGS)
    if ending.any() and (~ending).any():
        first = pd.Series(ts[~ending]).groupby(codes[~ending]).min()
        never = np.iinfo(np.int64).max
        starts = first.reindex(range(codes.max() + 1), fill_value=never).to_numpy()[codes]
        before = ending & (ts < starts)
        if before.any():
            i = int(np.argmax(before))
            problems.append(row_problem(
                "timestamp", rows[before], "case ends before its first event (negative duration; "
                f'e.g. case "{case[i]}" {activity[i]} at {iso(i)})',
                "check the time of the ending and of the case's first event"))

    complete = events["lifecycle"].to_numpy(dtype=object) == "complete"
    terminal = np.isin(activity, TERMINALS) & complete
    if terminal.any():
        nth = pd.Series(codes[terminal]).groupby(codes[terminal]).cumcount().to_numpy()
        again = np.zeros(len(case), dtype=bool)
        again[np.flatnonzero(terminal)[nth > 0]] = True
        if again.any():
            i = int(np.argmax(again))
            first_i = int(np.flatnonzero(terminal & (codes == codes[i]))[0])
            problems.append(row_problem(
                "activity", rows[again], "case reaches a terminal (closed_won, closed_lost, "
                f'disqualified) more than once (e.g. case "{case[i]}": {activity[i]} at row '
                f"{rows[i]} after {activity[first_i]} at row {rows[first_i]})",
                "keep one terminal per case, or give a re-opened deal a new case_id"))
    return problems
