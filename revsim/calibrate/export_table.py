"""A raw CRM or billing export being converted to canonical events: the shared machinery of the
adapters (crm_adapters, billing_adapters).

``RawExport`` holds the export's table (index = the export's row number, header = row 1), finds
its columns by any of their usual names, parses text, numbers and times, collects every problem
and the rows it skips, and ``finish`` stacks the events into the canonical columns that
``read_event_log`` accepts, with ``attrs["source"]`` and ``attrs["skipped"]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.log_columns import COLUMNS
from revsim.calibrate.raw_table import (
    EARLIEST,
    LATEST,
    RANGE_HINT,
    RANGE_WHAT,
    calendar_times,
    columns_text,
    parse_times,
    read_csv_text,
    row_problem,
    time_range,
)
from revsim.calibrate.text_input import LogError
from revsim.errors import Problem

Source = str | Path | pd.DataFrame


class RawExport:
    """A raw export being converted: the table, its label, its problems and skipped rows."""

    def __init__(self, source: Source, what: str) -> None:
        self.what = what
        self.problems: list[Problem] = []
        self.skipped: dict[str, int] = {}
        if isinstance(source, pd.DataFrame):
            self.label = str(source.attrs.get("source", f"<{what} DataFrame>"))
            self.table = source.copy()
            if self.table.index.name != "row":
                self.table.index = pd.RangeIndex(2, len(self.table) + 2, name="row")
        else:
            self.label = str(source)
            self.table = read_csv_text(source, self.label)
            self.table.index = pd.RangeIndex(2, len(self.table) + 2, name="row")
        self.table.columns = [str(c).strip() for c in self.table.columns]
        self.rows = self.table.index.to_numpy(dtype=np.int64)

    def column(self, purpose: str, *names: str, required: bool = True) -> str | None:
        """The first column present among ``names`` (case-insensitive), else a problem; two
        columns of that name (in any letter case) are a problem too, and give None."""
        lower: dict[str, list[str]] = {}
        for c in self.table.columns:
            lower.setdefault(c.lower(), []).append(c)
        for name in names:
            found = lower.get(name.lower())
            if found and len(found) > 1:
                where = [i + 1 for i, c in enumerate(self.table.columns) if c.lower() == name.lower()]
                self.problems.append(Problem(found[0], (
                    f"{len(found)} columns have this name (columns "
                    f"{', '.join(map(str, where))}); rename or delete all but one")))
                return None
            if found:
                return found[0]
        if required:
            self.problems.append(Problem("", (
                f"no {purpose} column (looked for {', '.join(names)}; found "
                f"{columns_text(self.table.columns)}); is this a {self.what} export?")))
        return None

    def stop_if_problems(self) -> None:
        if self.problems:
            raise LogError(list(dict.fromkeys(self.problems)), self.label)

    def text(self, col: str | None) -> pd.Series:
        """Stripped strings, blanks as NaN (all NaN when the column is absent)."""
        if col is None:
            return pd.Series(np.nan, index=self.table.index, dtype=object)
        out = self.table[col].astype("string").str.strip()
        present = (out != "").fillna(False).to_numpy(dtype=bool)
        return out.astype(object).where(present, np.nan)

    def required_text(self, col: str) -> pd.Series:
        out = self.text(col)
        blank = out.isna().to_numpy()
        if blank.any():
            self.problems.append(row_problem(col, self.rows[blank], f"blank {col}",
                                             "fill it in or delete the row"))
        return out

    def times(self, col: str | None, *, tz: str = "UTC",
              date_format: str | tuple[str, ...] | None = None, unix: bool = False
              ) -> pd.Series:
        """Times in UTC from ISO 8601 text (naive ones taken in ``tz``), a strftime format (or
        the first of several that reads the whole column: the same table circulates with
        different date styles), or Unix seconds; unparseable values become problems, blanks
        NaT."""
        if col is None:
            return pd.Series(pd.NaT, index=self.table.index, dtype="datetime64[ns, UTC]")
        raw = self.text(col)
        if unix:
            return self._unix_times(col, raw)
        if date_format is not None:
            formats = (date_format,) if isinstance(date_format, str) else date_format
            tries = [pd.to_datetime(raw, format=f, errors="coerce") for f in formats]
            misses = [int((t.isna() & raw.notna()).sum()) for t in tries]
            best = int(np.argmin(misses))  # the first format that reads everything, if any
            stamps = tries[best]
            bad = (stamps.isna() & raw.notna()).to_numpy()
            far = np.zeros(len(raw), dtype=bool)
            if bad.any():
                far[bad] = calendar_times(raw[bad], formats)
                bad &= ~far
            if bad.any():
                styles = " or ".join(formats)
                self.problems.append(row_problem(col, self.rows[bad], f"not a {styles} date:",
                                                 f"write dates as {formats[0]}",
                                                 raw[bad].head(50)))
            return time_range(localize(stamps, tz), raw, self.rows, col, self.problems, also=far)
        stamps, _, aware = parse_times(raw, self.rows, col, self.problems)
        if tz != "UTC":
            local = ~aware & stamps.notna()
            moved = localize(stamps[local].dt.tz_localize(None), tz)
            stamps = stamps.where(~local, moved)
        return stamps

    def _unix_times(self, col: str, raw: pd.Series) -> pd.Series:
        seconds = pd.to_numeric(raw, errors="coerce")
        bad = (seconds.isna() & raw.notna()).to_numpy()
        if bad.any():
            self.problems.append(row_problem(col, self.rows[bad], "not Unix seconds:",
                                             "export times as Unix seconds (Stripe's API "
                                             "format)", raw[bad].head(50)))
        low, high = EARLIEST.timestamp(), LATEST.timestamp()
        far = (seconds.notna() & ~((seconds >= low) & (seconds < high))).to_numpy()
        if far.any():
            as_milli = seconds[far] / 1000  # a JavaScript export writes milliseconds
            milli = bool(((as_milli >= pd.Timestamp("2000-01-01", tz="UTC").timestamp())
                          & (as_milli < high)).all())
            hint = ("these look like milliseconds: divide by 1000" if milli else RANGE_HINT)
            self.problems.append(row_problem(col, self.rows[far], f"Unix seconds give a {RANGE_WHAT}",
                                             hint, raw[far].head(50)))
            seconds = seconds.where(~far)
        return pd.to_datetime(seconds, unit="s", utc=True).astype("datetime64[ns, UTC]")

    def numbers(self, col: str | None) -> pd.Series:
        raw = self.text(col)
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = (values.isna() & raw.notna()).to_numpy()
        if bad.any() and col is not None:
            self.problems.append(row_problem(col, self.rows[bad], "not a number:",
                                             "write plain numbers such as 1054.50",
                                             raw[bad].head(50)))
        endless = np.isinf(values.to_numpy())
        if endless.any() and col is not None:
            self.problems.append(row_problem(col, self.rows[endless], "not a finite number:",
                                             "write plain numbers such as 1054.50",
                                             raw[endless].head(50)))
            values = values.where(~endless)
        return values

    def skip(self, reason: str, n: int) -> None:
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + int(n)

    def finish(self, parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
        """Stack the event parts, sort by case then time (stable), attach source and skips."""
        self.stop_if_problems()
        filled = [p for p in parts if len(p)]
        events = pd.concat(filled, sort=False) if filled else pd.DataFrame(columns=list(COLUMNS))
        for col in COLUMNS:
            if col not in events.columns:
                events[col] = np.nan
        for col in ("timestamp", "due_date"):
            events[col] = pd.to_datetime(events[col], utc=True).astype("datetime64[ns, UTC]")
        rest = [c for c in events.columns if c not in COLUMNS]
        events = events[list(COLUMNS) + rest].sort_values(["case_id", "timestamp"], kind="stable")
        events.index.name = "row"
        events.attrs["source"] = self.label
        events.attrs["skipped"] = dict(self.skipped)
        return events


def localize(naive: pd.Series, tz: str) -> pd.Series:
    return naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward") \
        .dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def slug(label: str) -> str:
    """A stage label as a canonical stage name: ``"Id. Decision Makers"`` -> ``id_decision_makers``."""
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def export_events(export: RawExport, keep: pd.Series | np.ndarray, activity: str | pd.Series,
            times: pd.Series, **columns: Any) -> pd.DataFrame:
    """One event per kept export row (index = export row number)."""
    mask = np.asarray(keep, dtype=bool) & times.notna().to_numpy()
    out = pd.DataFrame(index=export.table.index[mask])
    out["activity"] = activity[mask] if isinstance(activity, pd.Series) else activity
    out["timestamp"] = times[mask]
    for name, values in columns.items():
        out[name] = values[mask] if isinstance(values, pd.Series | np.ndarray) else values
    return out


def truthy(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.lower().isin(["true", "1", "yes", "y", "t"])


