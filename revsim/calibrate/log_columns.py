"""The canonical event-log format ("revsim event log v1"): its columns and activity types, and
the checks of a raw table against it.

``rename_columns`` maps the pm4py/XES spellings; ``typed_columns`` turns the raw text into typed
canonical columns (problems with single values); ``consistency_problems`` checks across rows
(order, duplicates, negative durations, repeated terminals), over whole columns at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from revsim.calibrate.mapping import CANONICAL_ACTIVITIES, STAGE_PREFIX, Mapping, canonical_mask
from revsim.calibrate.raw_table import ISO_HINT, clean_text, parse_times, row_problem
from revsim.calibrate.text_input import shown
from revsim.errors import Problem

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


ACTIVITY_TYPE = {
    **dict.fromkeys(["lead_created", "lead_assigned", "first_touch", "contacted", "mql", "sql",
                     "disqualified", "recycled", "converted"], "lead"),
    **dict.fromkeys(["opportunity_created", "closed_won", "closed_lost", "onboarding_started",
                     "go_live", "churned"], "opportunity"),
    **dict.fromkeys(["invoice_issued", "reminder_sent", "payment_failed", "invoice_written_off",
                     "invoice_voided"], "invoice"),
    **dict.fromkeys(["payment_received", "invoice_paid"], "payment"),
}


def rename_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
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
    names = [str(c) for c in frame.columns]
    for col in sorted({c for c in names if names.count(c) > 1}):
        where = ", ".join(str(i + 1) for i, c in enumerate(names) if c == col)
        problems.append(Problem(col, f"column name appears {names.count(col)} times in the "
                                     f"header (columns {where}); rename or delete all but one"))
    return frame.rename(columns=renames), problems


def typed_columns(frame: pd.DataFrame, rows: np.ndarray,
             mapping: Mapping | None) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed canonical columns plus attributes; problems with single values."""
    problems: list[Problem] = []
    out = pd.DataFrame(index=frame.index)
    no_text = pd.Series(np.nan, index=frame.index, dtype=object)
    for col in ("case_id", "activity"):
        out[col] = clean_text(frame[col])
        missing = out[col].isna().to_numpy()
        if missing.any():
            problems.append(row_problem(col, rows[missing], f"blank {col}",
                                        f"fill in the {col} or delete the row"))
    raw = out["activity"]
    if mapping is not None and mapping.activities:
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

    date_format = mapping.date_format if mapping is not None else None
    out["timestamp"], naive, aware = parse_times(frame["timestamp"], rows, "timestamp", problems,
                                                 date_format, settable=True)
    blank_ts = (out["timestamp"].isna() & clean_text(frame["timestamp"]).isna()).to_numpy()
    if blank_ts.any():
        problems.append(row_problem("timestamp", rows[blank_ts], "blank timestamp",
                                    f"fill in the time of the event; {ISO_HINT}"))
    if "due_date" in frame.columns:
        out["due_date"], due_naive, due_aware = parse_times(frame["due_date"], rows, "due_date",
                                                            problems, date_format,
                                                            settable=True)
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
        given = clean_text(frame["object_type"], lower=True)
        bad = (given.notna() & ~given.isin(OBJECT_TYPES)).to_numpy()
        if bad.any():
            problems.append(row_problem("object_type", rows[bad], "unknown object_type",
                                        "use lead, opportunity, invoice or payment, or leave it "
                                        "blank to infer it from the activity",
                                        given[bad].head(50)))
        given = given.where(~bad)
        problems += _type_mismatch(given, out["activity"], rows)
    else:
        given = pd.Series(np.nan, index=frame.index, dtype=object)
    inferred = _infer_types(out["case_id"], out["activity"]).to_numpy(dtype=object)
    out["object_type"] = np.where(given.notna().to_numpy(), given.to_numpy(dtype=object), inferred)

    for col in ("parent_id", "account_id", "resource", "role", "currency"):
        out[col] = clean_text(frame[col]) if col in frame.columns else no_text
    out["lifecycle"] = (clean_text(frame["lifecycle"], lower=True).fillna("complete")
                        if "lifecycle" in frame.columns else "complete")
    if "amount" in frame.columns:
        text = clean_text(frame["amount"])
        amount = pd.to_numeric(text, errors="coerce")
        bad = (amount.isna() & text.notna()).to_numpy()
        if bad.any():
            problems.append(row_problem("amount", rows[bad], "amount is not a number",
                                        "write plain numbers such as 1054.50 (no currency signs "
                                        "or thousands separators)", text[bad].head(50)))
        endless = np.isinf(amount.to_numpy(dtype=float))
        if endless.any():
            problems.append(row_problem("amount", rows[endless], "amount is not a finite number",
                                        "write plain numbers such as 1054.50",
                                        text[endless].head(50)))
        out["amount"] = amount.astype(float)
    else:
        out["amount"] = np.nan
    out = out[list(COLUMNS)]
    for col in frame.columns:
        if col not in COLUMNS:
            out[col] = _attribute(frame[col])
    return out, problems


_FAMILY = {"lead": "sales", "opportunity": "sales", "invoice": "billing", "payment": "billing"}


def _type_mismatch(given: pd.Series, activity: pd.Series, rows: np.ndarray) -> list[Problem]:
    """A given object_type of the other family than its activity's (a lead's or opportunity's
    event marked invoice, or the reverse): the fit would leave such rows out of both sides."""
    expected = activity.map(ACTIVITY_TYPE)
    stage = activity.astype("string").str.startswith(STAGE_PREFIX).fillna(False).to_numpy(bool)
    expected = expected.where(~stage, "opportunity")
    family = given.map(_FAMILY)
    clash = (family.notna() & expected.notna() & family.ne(expected.map(_FAMILY))).to_numpy()
    if not clash.any():
        return []
    i = int(np.argmax(clash))
    return [row_problem("object_type", rows[clash], "object_type of the other side of the "
                        f"business than the activity (e.g. {shown(activity.iloc[i])} marked "
                        f"{given.iloc[i]}):", "leads and opportunities have the sales "
                        "activities and stage:<name>, invoices and payments the billing ones; "
                        "correct the object_type or leave it blank to infer it",
                        given[clash].head(50))]


def _in(source: str | None) -> str:
    return f" {source}" if source else ""


def _infer_types(case_id: pd.Series, activity: pd.Series) -> pd.Series:
    """Object type from the activity; a ``stage:`` event belongs to a lead when its case has
    lead activities and no opportunity ones, otherwise to an opportunity."""
    by_activity = activity.map(ACTIVITY_TYPE)
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
    text = clean_text(values)
    numbers = pd.to_numeric(text, errors="coerce")
    if text.notna().any() and numbers.notna().sum() == text.notna().sum():
        return numbers
    return text


def consistency_problems(events: pd.DataFrame, rows: np.ndarray) -> list[Problem]:
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
