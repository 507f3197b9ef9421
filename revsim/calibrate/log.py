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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from revsim.calibrate.journeys import stage_name
from revsim.calibrate.log_columns import (
    ENDINGS,
    REQUIRED,
    consistency_problems,
    rename_columns,
    typed_columns,
)
from revsim.calibrate.mapping import Mapping, load_mapping
from revsim.calibrate.raw_table import ISO_HINT, RANGE_WHAT, columns_text, read_csv_text, to_utc
from revsim.calibrate.text_input import InputWarning, LogError, one_line, shown
from revsim.errors import Problem


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
    warnings: list[str] = field(default_factory=list)
    """What was odd about the input, one line each (see revsim.calibrate.input_warnings)."""
    stage_order: tuple[str, ...] = ()
    """The mapping's ``[order] stages``: the fitted scenario lists these stages first, in this
    order (the others follow by when they are typically entered)."""

    @property
    def start(self) -> pd.Timestamp:
        """Time of the first event."""
        return pd.Timestamp(self.events["timestamp"].min())

    @property
    def end(self) -> pd.Timestamp:
        """Time of the last event (at or before ``as_of``)."""
        return pd.Timestamp(self.events["timestamp"].max())

    @property
    def file_name(self) -> str:
        """The log's file name without its folders (what a fitted scenario records: a path
        would not travel with the file, and names a local folder)."""
        return Path(self.source).name if self.source else self.source

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
        lines = [f"event log {one_line(self.source)}: {_count(self.n_cases, 'case')}, "
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


#: How long after a log's last event its as-of (extract) time may be: every open case would
#: otherwise be censored at a time nobody looked at it, lengthening every open duration.
AS_OF_TOLERANCE = pd.Timedelta(days=366)


def _is_iso(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def read_event_log(source: str | Path | pd.DataFrame, *, mapping: Mapping | str | Path | None = None,
                   as_of: str | dt.datetime | pd.Timestamp | None = None,
                   name: str | None = None, encoding: str | None = None) -> EventLog:
    """Read, map and validate an event log (CSV path or DataFrame); raises ``LogError``.

    ``mapping`` turns raw activity labels into canonical ones (a ``Mapping`` or a TOML path);
    ``as_of`` is the extract time (default: the latest event); later events are skipped and
    counted. A DataFrame source is numbered like the CSV it would write (first data row = 2)
    unless its index is named ``row``; its ``attrs["source"]`` and ``attrs["skipped"]`` (set by
    the adapters) name it and carry the rows an adapter skipped. ``encoding`` is the CSV file's
    text encoding (default UTF-8; see revsim.calibrate.text_input).
    """
    frame, label, skipped = _load(source, name, encoding)
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    frame, problems = rename_columns(frame)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        problems.append(Problem("", (
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(columns found: {columns_text(frame.columns)}); rename the columns "
            "to case_id, activity, timestamp (or the XES names case:concept:name, concept:name, "
            "time:timestamp), or read the export with an adapter from revsim.calibrate")))
    if problems:
        raise LogError(problems, label)

    blank = _blank_rows(frame)
    if blank.any():
        skipped["blank line"] = skipped.get("blank line", 0) + int(blank.sum())
        frame = frame.loc[~blank.to_numpy()]
    if frame.empty:
        left_out = "".join(f"; {n:,} rows skipped ({why})" for why, n in skipped.items())
        raise LogError([Problem("", f"no events in the file{left_out}; export the log with at "
                                    "least one event row under the header")], label)
    rows = frame.index.to_numpy(dtype=np.int64)
    events, problems = typed_columns(frame, rows, mapping)
    cut = None
    if isinstance(as_of, str) and not _is_iso(as_of):
        problems.append(Problem("as_of", f'"{shown(as_of)}" is not an ISO 8601 date or time; '
                                "write e.g. 2027-03-31 or 2027-03-31T18:00:00Z"))
    elif as_of is not None:
        try:
            cut = to_utc(as_of)
        except (ValueError, TypeError) as err:
            what = RANGE_WHAT.rstrip(":") if str(err).startswith(RANGE_WHAT) else "unparseable time"
            problems.append(Problem("as_of", f'{what} "{shown(as_of)}"; {ISO_HINT}'))
    # Checks across rows use the rows whose case, activity and time are all known, so that
    # they are reported together with the problems of single values.
    known = events[["case_id", "activity", "timestamp"]].notna().all(axis=1).to_numpy()
    # An event dated decades away is left out before the checks across rows: its time, not the
    # file's order of its case's rows, is what is wrong.
    far = np.zeros(len(events), dtype=bool)
    far[known] = _far_out(events.loc[known, "timestamp"])
    problems += consistency_problems(events.loc[known & ~far], rows[known & ~far])
    if isinstance(mapping, Mapping) and mapping.stages:
        problems += _order_problems(mapping, events)
    if problems:
        raise LogError(problems, label)

    if far.any():
        skipped[FAR_OUT] = skipped.get(FAR_OUT, 0) + int(far.sum())
        _warn_far_out(label, events.loc[far, "timestamp"], events.loc[~far, "timestamp"])
        events = events.loc[~far]
    last = pd.Timestamp(events["timestamp"].max())
    if cut is not None and cut - last > AS_OF_TOLERANCE:
        raise LogError([Problem("as_of", f"{cut:%Y-%m-%d} is {(cut - last).days:,} days after "
                                f"the log's last event ({last:%Y-%m-%d}); give the time the "
                                "log was extracted (at most a year after its last event), or "
                                "export a newer log")], label)
    cut = cut if cut is not None else last
    late = (events["timestamp"] > cut).to_numpy()
    if late.any():
        skipped["after as-of"] = skipped.get("after as-of", 0) + int(late.sum())
        events = events.loc[~late]
    if events.empty:
        raise LogError([Problem("as_of", f"every event is after the as-of time {cut}; give a "
                                         "later as_of (the extract time)")], label)
    events = _sort(events)
    order = tuple(mapping.stages) if isinstance(mapping, Mapping) else ()
    return EventLog(events=events, as_of=cut, skipped=skipped, source=label, stage_order=order)


def _order_problems(mapping: Mapping, events: pd.DataFrame) -> list[Problem]:
    """A stage the mapping's ``[order]`` lists but no event of the log opens would be a
    setting that silently does nothing (a typo, or a label left unmapped)."""
    present = {stage_name(str(a)) for a in pd.unique(events["activity"].dropna())} - {None}
    absent = [s for s in mapping.stages if s not in present]
    if not absent:
        return []
    where = f" of {Path(mapping.source).name}" if mapping.source else ""
    found = ", ".join(sorted(str(s) for s in present)) or "none"
    return [Problem("order.stages", (
        f"{', '.join(repr(shown(s)) for s in absent)} in the [order]{where} "
        f"{'is' if len(absent) == 1 else 'are'} not a stage of this log (its stages: {found}); "
        "fix the name, map the label that opens it in [activities], or remove it from [order]"))]


#: The ``skipped`` reason of events whose time lies far outside the rest of the log's.
FAR_OUT = "dated far outside the rest of the log"
#: The share of events at each end of the log that may be wrong without hiding the rest: the
#: bulk of the log is what lies between these quantiles.
FAR_OUT_TRIM = 0.01
#: How far beyond the bulk an event must be, in multiples of the bulk's own span and at least
#: a year: a log whose event rate grows even ten-thousand-fold keeps its first events within one
#: span of the bulk, and a slow case is months away from the rest, while the errors meant here
#: (an epoch-zero 1970, a 2099 placeholder, a mistyped decade) are decades away.
FAR_OUT_SPANS = 3.0
FAR_OUT_MIN = pd.Timedelta(days=366)
#: Fewer events than this between the quantiles say too little about where the log's times lie
#: to call any other event wrong: a log of a handful of events keeps them all.
FAR_OUT_BULK = 5


def _far_out(times: pd.Series) -> np.ndarray:
    """Events far before or after the bulk of the log (see FAR_OUT_SPANS)."""
    # in days, as floats: three spans of a 130-year log would overflow nanoseconds
    days = ((times - times.min()) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    n = len(days)
    # at least one event left out at each end, so that a lone bad one is never its own yardstick
    k = max(1, int(np.ceil(FAR_OUT_TRIM * (n - 1))))
    if n - 2 * k < FAR_OUT_BULK:
        return np.zeros(n, dtype=bool)
    ordered = np.sort(days)
    lo, hi = ordered[k], ordered[n - 1 - k]
    margin = max(FAR_OUT_SPANS * (hi - lo), FAR_OUT_MIN / pd.Timedelta(days=1))
    return (days < lo - margin) | (days > hi + margin)


def _warn_far_out(label: str, far: pd.Series, rest: pd.Series) -> None:
    """One warning naming the dates left out (the first few) and the period of the rest."""
    dates = sorted(set(far.dt.strftime("%Y-%m-%d")))
    listed = ", ".join(dates[:5]) + (f" and {len(dates) - 5:,} more dates" if len(dates) > 5 else "")
    warnings.warn(InputWarning(
        f"{one_line(label)}: {_count(len(far), 'event')} left out, dated {listed}: far outside "
        f"the rest of the log ({rest.min():%Y-%m-%d} to {rest.max():%Y-%m-%d}), they would "
        "stretch its period by years; if these events are real, correct their times in the "
        "export"),
        stacklevel=3)


def _sort(events: pd.DataFrame) -> pd.DataFrame:
    """Sorted by case id then time, stable (ties keep file order)."""
    codes, _ = pd.factorize(events["case_id"].to_numpy(dtype=object), sort=True)
    ts = events["timestamp"].dt.tz_localize(None).to_numpy().view(np.int64)
    return events.iloc[np.lexsort((ts, codes))]


def _load(source: str | Path | pd.DataFrame, name: str | None, encoding: str | None
          ) -> tuple[pd.DataFrame, str, dict[str, int]]:
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
    frame = read_csv_text(source, label, skip_blank_lines=False, encoding=encoding)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, label, {}


def _blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows where every cell is missing (an empty line or a line of commas)."""
    return frame.isna().all(axis=1)


