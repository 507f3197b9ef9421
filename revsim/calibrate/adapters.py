"""Adapters: common CRM and billing exports -> canonical event-log tables.

Each adapter takes the raw export (a DataFrame or a CSV path) and returns a DataFrame in the
canonical columns (``case_id``, ``activity``, ``timestamp`` in UTC, ``object_type``, ...) that
``read_event_log`` accepts. The index, named ``row``, holds the export's row number (header = row
1), so problems found later still point at the export; ``attrs["source"]`` names the export and
``attrs["skipped"]`` counts the export rows an adapter left out, by reason. Problems in the export
itself (missing columns, bad dates, inconsistent statuses) raise ``LogError``, all at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.log import (
    COLUMNS,
    ISO_HINT,
    LogError,
    parse_times,
    read_csv_text,
    row_problem,
)
from revsim.errors import Problem

Source = str | Path | pd.DataFrame
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                "vnd", "vuv", "xaf", "xof", "xpf"}
"""Stripe currencies whose amounts are whole units, not hundredths."""


class _Export:
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
        """The first column present among ``names`` (case-insensitive), else a problem."""
        lower = {c.lower(): c for c in self.table.columns}
        for name in names:
            if name.lower() in lower:
                return lower[name.lower()]
        if required:
            self.problems.append(Problem("", (
                f"no {purpose} column (looked for {', '.join(names)}; found "
                f"{', '.join(self.table.columns) or 'none'}); is this a {self.what} export?")))
        return None

    def stop_if_problems(self) -> None:
        if self.problems:
            raise LogError(self.problems, self.label)

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
            seconds = pd.to_numeric(raw, errors="coerce")
            bad = (seconds.isna() & raw.notna()).to_numpy()
            if bad.any():
                self.problems.append(row_problem(col, self.rows[bad], "not Unix seconds:",
                                                 "export times as Unix seconds (Stripe's API "
                                                 "format)", raw[bad].head(50)))
            return pd.to_datetime(seconds, unit="s", utc=True).astype("datetime64[ns, UTC]")
        if date_format is not None:
            formats = (date_format,) if isinstance(date_format, str) else date_format
            tries = [pd.to_datetime(raw, format=f, errors="coerce") for f in formats]
            misses = [int((t.isna() & raw.notna()).sum()) for t in tries]
            best = int(np.argmin(misses))  # the first format that reads everything, if any
            stamps = tries[best]
            bad = (stamps.isna() & raw.notna()).to_numpy()
            if bad.any():
                styles = " or ".join(formats)
                self.problems.append(row_problem(col, self.rows[bad], f"not a {styles} date:",
                                                 f"write dates as {formats[0]}",
                                                 raw[bad].head(50)))
            return _localize(stamps, tz)
        stamps, _, aware = parse_times(raw, self.rows, col, self.problems)
        if tz != "UTC":
            local = ~aware & stamps.notna()
            moved = _localize(stamps[local].dt.tz_localize(None), tz)
            stamps = stamps.where(~local, moved)
        return stamps

    def numbers(self, col: str | None) -> pd.Series:
        raw = self.text(col)
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = (values.isna() & raw.notna()).to_numpy()
        if bad.any() and col is not None:
            self.problems.append(row_problem(col, self.rows[bad], "not a number:",
                                             "write plain numbers such as 1054.50",
                                             raw[bad].head(50)))
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


def _localize(naive: pd.Series, tz: str) -> pd.Series:
    return naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward") \
        .dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def slug(label: str) -> str:
    """A stage label as a canonical stage name: ``"Id. Decision Makers"`` -> ``id_decision_makers``."""
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def _events(export: _Export, keep: pd.Series | np.ndarray, activity: str | pd.Series,
            times: pd.Series, **columns: Any) -> pd.DataFrame:
    """One event per kept export row (index = export row number)."""
    mask = np.asarray(keep, dtype=bool) & times.notna().to_numpy()
    out = pd.DataFrame(index=export.table.index[mask])
    out["activity"] = activity[mask] if isinstance(activity, pd.Series) else activity
    out["timestamp"] = times[mask]
    for name, values in columns.items():
        out[name] = values[mask] if isinstance(values, pd.Series | np.ndarray) else values
    return out


def _truthy(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.lower().isin(["true", "1", "yes", "y", "t"])


def salesforce_opportunity_history(source: Source, *, stages: Source | None = None,
                                   tz: str = "UTC") -> pd.DataFrame:
    """Salesforce ``OpportunityHistory`` export -> opportunity events.

    Columns: ``OpportunityId`` -> case_id; ``StageName``; ``CreatedDate`` (when the history row
    was written, ISO 8601 as the API writes it, e.g. ``2017-03-01T09:30:00.000+0000``; naive
    times are taken in ``tz``) -> timestamp; optional ``Amount`` -> amount, ``CreatedById`` ->
    resource, ``AccountId`` -> account_id, ``ForecastCategory`` and ``Probability`` -> attributes.

    Salesforce writes a history row on any change of Amount, Probability, StageName or CloseDate,
    so each opportunity's rows (ordered by CreatedDate) that repeat the previous StageName are not
    stage entries: they are left out and counted as "salesforce: stage unchanged". Each kept row
    gives ``stage:<slug of StageName>``; the opportunity's first row also gives
    ``opportunity_created`` at the same time. Closed stages become ``closed_won`` /
    ``closed_lost``: from ``stages`` (an ``OpportunityStage`` export with ``ApiName`` or
    ``MasterLabel``, ``IsClosed``, ``IsWon``) when given, else the default names "Closed Won" and
    "Closed Lost".
    """
    export = _Export(source, "Salesforce OpportunityHistory")
    c_id = export.column("OpportunityId", "OpportunityId", "Opportunity.Id", "Opportunity ID")
    c_stage = export.column("StageName", "StageName", "Stage", "Stage Name")
    c_time = export.column("CreatedDate", "CreatedDate", "Created Date", "Last Modified")
    export.stop_if_problems()
    assert c_id and c_stage and c_time
    case = export.required_text(c_id)
    stage = export.required_text(c_stage)
    times = export.times(c_time, tz=tz)
    blank = export.text(c_time).isna().to_numpy()
    if blank.any():
        export.problems.append(row_problem(c_time, export.rows[blank], "blank CreatedDate",
                                           "fill it in or delete the row"))
    amount = export.numbers(export.column("Amount", "Amount", required=False))
    closed = _salesforce_closed(stages)
    export.stop_if_problems()

    table = pd.DataFrame({"case": case, "stage": stage, "t": times}, index=export.table.index)
    order = table.sort_values(["case", "t"], kind="stable").index
    ordered = table.loc[order]
    repeat = (ordered["case"].eq(ordered["case"].shift()) &
              ordered["stage"].eq(ordered["stage"].shift()))
    export.skip("salesforce: stage unchanged", int(repeat.sum()))
    keep = pd.Series(False, index=export.table.index)
    keep.loc[ordered.index[~repeat.to_numpy()]] = True
    first = pd.Series(False, index=export.table.index)
    first.loc[ordered.index[~ordered["case"].eq(ordered["case"].shift()).to_numpy()]] = True

    activity = stage.map(lambda s: closed.get(s.lower(), f"stage:{slug(s)}")
                         if isinstance(s, str) else np.nan)
    extra = {
        "object_type": "opportunity",
        "amount": amount,
        "resource": export.text(export.column("CreatedById", "CreatedById", required=False)),
        "account_id": export.text(export.column("AccountId", "AccountId", required=False)),
    }
    for raw, name in (("ForecastCategory", "forecast_category"), ("Probability", "probability")):
        col = export.column(raw, raw, required=False)
        if col is not None:
            extra[name] = export.text(col)
    created = _events(export, first, "opportunity_created", times, case_id=case, **extra)
    entries = _events(export, keep, activity, times, case_id=case, **extra)
    return export.finish([created, entries])


def _salesforce_closed(stages: Source | None) -> dict[str, str]:
    """Lower-case stage name -> closed_won / closed_lost."""
    if stages is None:
        return {"closed won": "closed_won", "closed lost": "closed_lost"}
    table = _Export(stages, "Salesforce OpportunityStage")
    names = [c for c in (table.column("ApiName", "ApiName", required=False),
                         table.column("MasterLabel", "MasterLabel", "Label", required=False)) if c]
    if not names:
        table.column("ApiName or MasterLabel", "ApiName", "MasterLabel")
    c_closed = table.column("IsClosed", "IsClosed")
    c_won = table.column("IsWon", "IsWon")
    table.stop_if_problems()
    assert c_closed and c_won
    is_closed, is_won = _truthy(table.table[c_closed]), _truthy(table.table[c_won])
    out: dict[str, str] = {}
    for col in names:
        for name, closed, won in zip(table.text(col), is_closed, is_won, strict=True):
            if isinstance(name, str) and closed:
                out[name.lower()] = "closed_won" if won else "closed_lost"
    return out


_HUBSPOT_ENTERED = (re.compile(r"^hs_v2_date_entered_(.+)$", re.I),
                    re.compile(r"^hs_date_entered_(.+)$", re.I),
                    re.compile(r'^date entered\s+"?(.+?)"?$', re.I))


def hubspot_deals(source: Source, *, stages: AbcMapping[str, str] | None = None, tz: str = "UTC",
                  date_format: str | None = None) -> pd.DataFrame:
    """HubSpot deals export with stage "date entered" properties -> opportunity events.

    Columns: ``Record ID`` / ``hs_object_id`` / ``Deal ID`` -> case_id; ``Create Date`` /
    ``createdate`` -> ``opportunity_created``; one ``Date entered "<stage> (<pipeline>)"`` (UI
    export) or ``hs_v2_date_entered_<stageId>`` / legacy ``hs_date_entered_<stageId>`` (API)
    column per stage -> ``stage:<slug>`` at that time, for every stage the deal entered (the
    same stage in several pipelines, or under both API names, gives one event, the latest);
    closed-won / closed-lost stages (ids ``closedwon``/``closedlost`` or labels "Closed Won"/
    "Closed Lost", or any label mapped by ``stages``: raw label or id -> canonical activity)
    -> ``closed_won`` / ``closed_lost``. Optional ``Amount`` -> amount, ``Deal owner`` /
    ``hubspot_owner_id`` -> resource, ``Pipeline``, ``Deal Name`` and ``Deal Stage`` ->
    attributes. Times are ISO 8601 (or ``date_format``), naive ones taken in ``tz``.

    HubSpot keeps only the latest entry per stage, so re-entries are lost (use property history
    for those). A deal with both a won and a lost date keeps the one that matches its current
    Deal Stage (else the later one); the other is counted as "hubspot: closed stage superseded".
    """
    export = _Export(source, "HubSpot deals")
    c_id = export.column("deal id", "Record ID", "hs_object_id", "Deal ID", "id")
    c_created = export.column("create date", "Create Date", "createdate")
    export.stop_if_problems()
    assert c_id and c_created
    table = export.table
    stage_cols: dict[str, list[str]] = {}  # activity -> its columns (one per pipeline)
    for col in table.columns:
        for pattern in _HUBSPOT_ENTERED:
            match = pattern.match(col)
            if match:
                label = re.sub(r"\s*\([^()]*\)$", "", match.group(1).strip().strip('"')).strip()
                stage_cols.setdefault(_hubspot_activity(label, stages), []).append(col)
                break
    if not stage_cols:
        export.problems.append(Problem("", 'no "Date entered <stage>" or hs_v2_date_entered_<id> '
                                           "columns; add the stage date properties to the export"))
    case = export.required_text(c_id)
    created = export.times(c_created, tz=tz, date_format=date_format)
    entered = {act: pd.concat([export.times(c, tz=tz, date_format=date_format) for c in cols],
                              axis=1).max(axis=1).astype("datetime64[ns, UTC]")
               for act, cols in stage_cols.items()}
    c_stage = export.column("deal stage", "Deal Stage", "dealstage", required=False)
    current = export.text(c_stage).map(lambda s: _hubspot_activity(s, stages)
                                       if isinstance(s, str) else np.nan)
    won, lost = entered.get("closed_won"), entered.get("closed_lost")
    if won is not None and lost is not None:
        both = won.notna() & lost.notna()
        keep_won = both & (current.eq("closed_won") | (current.ne("closed_lost") & (won >= lost)))
        export.skip("hubspot: closed stage superseded", int(both.sum()))
        entered["closed_won"] = won.where(~both | keep_won)
        entered["closed_lost"] = lost.where(~both | ~keep_won)
    extra: dict[str, Any] = {
        "case_id": case,
        "object_type": "opportunity",
        "amount": export.numbers(export.column("amount", "Amount", "amount", required=False)),
        "resource": export.text(export.column("owner", "Deal owner", "hubspot_owner_id",
                                              required=False)),
    }
    for names, attr in ((("Pipeline", "pipeline"), "pipeline"),
                        (("Deal Name", "dealname"), "deal_name")):
        found = export.column(attr, *names, required=False)
        if found:
            extra[attr] = export.text(found)
    if c_stage:
        extra["deal_stage"] = export.text(c_stage)
    everyone = np.ones(len(table), dtype=bool)
    parts = [_events(export, everyone, "opportunity_created", created, **extra)]
    parts += [_events(export, everyone, act, t, **extra) for act, t in entered.items()]
    return export.finish(parts)


def _hubspot_activity(label: str, stages: AbcMapping[str, str] | None) -> str:
    if stages and label in stages:
        return stages[label]
    name = slug(label)
    if name in ("closedwon", "closed_won"):
        return "closed_won"
    if name in ("closedlost", "closed_lost"):
        return "closed_lost"
    return f"stage:{name}"


STRIPE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def stripe_invoices(source: Source) -> pd.DataFrame:
    """Stripe invoices (API objects flattened, e.g. with ``pandas.json_normalize``) -> events.

    Columns: ``id`` -> case_id; ``customer`` -> account_id; ``status`` (draft, open, paid,
    uncollectible, void); ``status_transitions.finalized_at`` (else ``created``) ->
    ``invoice_issued`` with ``amount_due`` and ``due_date`` (when blank and ``collection_method``
    is ``charge_automatically``, due at issue); ``status_transitions.paid_at`` ->
    ``invoice_paid`` with ``amount_paid``; ``status_transitions.marked_uncollectible_at`` ->
    ``invoice_written_off`` with the unpaid rest; ``status_transitions.voided_at`` ->
    ``invoice_voided``. Times are Unix seconds; amounts are in the currency's smallest unit
    (cents) and are divided by 100, except for zero-decimal currencies (JPY, KRW, ...).
    ``currency`` and ``subscription`` pass through. Drafts were never sent: they are left out
    and counted as "stripe: draft invoice". An open invoice has only ``invoice_issued`` and is
    censored at the as-of time. A status without its transition time is an error.
    """
    export = _Export(source, "Stripe invoices")
    c_id = export.column("id", "id")
    c_status = export.column("status", "status")
    c_created = export.column("created", "created")
    export.stop_if_problems()
    assert c_id and c_status and c_created
    case = export.required_text(c_id)
    status = export.required_text(c_status).str.lower()
    bad = (status.notna() & ~status.isin(STRIPE_STATUSES)).to_numpy()
    if bad.any():
        export.problems.append(row_problem(c_status, export.rows[bad], "unknown status",
                                           f"use one of {', '.join(STRIPE_STATUSES)}",
                                           status[bad].head(50)))

    def column(name: str) -> str | None:
        return export.column(name, f"status_transitions.{name}", f"status_transitions_{name}",
                             required=False)

    def when(name: str) -> pd.Series:
        return export.times(column(name), unix=True)

    created = export.times(c_created, unix=True)
    finalized, paid, written, voided = (when(n) for n in ("finalized_at", "paid_at",
                                                          "marked_uncollectible_at", "voided_at"))
    for state, name in (("paid", "paid_at"), ("uncollectible", "marked_uncollectible_at"),
                        ("void", "voided_at")):
        lacking = (status.eq(state) & export.text(column(name)).isna()).to_numpy()
        if lacking.any():
            export.problems.append(row_problem(
                "status", export.rows[lacking], f"status {state} without "
                f"status_transitions.{name}", f"export status_transitions.{name} (Unix seconds)"))
    currency = export.text(export.column("currency", "currency", required=False)).str.lower()
    scale = np.where(currency.isin(ZERO_DECIMAL), 1.0, 100.0)
    due_amount: pd.Series = export.numbers(export.column("amount_due", "amount_due", required=False)) / scale
    paid_amount: pd.Series = export.numbers(export.column("amount_paid", "amount_paid",
                                               required=False)) / scale
    issued = finalized.fillna(created)
    due = export.times(export.column("due_date", "due_date", required=False), unix=True)
    method = export.text(export.column("collection_method", "collection_method", required=False))
    due = due.where(due.notna() | method.ne("charge_automatically"), issued)

    draft = status.eq("draft").to_numpy()
    export.skip("stripe: draft invoice", int(draft.sum()))
    live = ~draft
    common: dict[str, Any] = {"case_id": case, "object_type": "invoice", "currency": currency,
                              "account_id": export.text(export.column("customer", "customer",
                                                                      required=False))}
    col = export.column("subscription", "subscription", required=False)
    if col:
        common["subscription"] = export.text(col)
    parts = [
        _events(export, live, "invoice_issued", issued, amount=due_amount, due_date=due, **common),
        _events(export, live, "invoice_paid", paid, amount=paid_amount,
                **{**common, "object_type": "payment"}),
        _events(export, live, "invoice_written_off", written,
                amount=(due_amount - paid_amount.fillna(0.0)), **common),
        _events(export, live, "invoice_voided", voided, amount=due_amount, **common),
    ]
    return export.finish(parts)


_AR_COLUMNS: dict[str, tuple[str, ...]] = {
    "invoice_id": ("doc_id", "invoice_id", "invoiceNumber", "invoice_number", "document_id",
                   "document_number", "invoice"),
    "document_date": ("document_create_date", "document_date", "doc_date", "invoice_date",
                      "InvoiceDate", "posting_date", "baseline_create_date"),
    "due_date": ("due_in_date", "due_date", "DueDate"),
    "clear_date": ("clear_date", "cleared_date", "SettledDate", "settled_date", "paid_date",
                   "payment_date"),
    "amount": ("total_open_amount", "amount", "invoice_amount", "InvoiceAmount"),
    "customer": ("cust_number", "customer_id", "customerID", "customer", "name_customer"),
    "currency": ("invoice_currency", "currency"),
}


def generic_ar(source: Source, *, columns: AbcMapping[str, str] | None = None,
               date_format: str | None = None, tz: str = "UTC") -> pd.DataFrame:
    """Generic accounts-receivable (ERP) export, one row per invoice -> invoice events.

    Columns (first match, case-insensitive; override with ``columns={purpose: name}``):
    invoice_id (``doc_id``, ``invoice_id``, ``invoiceNumber``...) -> case_id; document_date
    (``document_create_date``, ``InvoiceDate``...) -> ``invoice_issued``; due_date
    (``due_in_date``, ``DueDate``...) -> due_date; clear_date (``clear_date``, ``SettledDate``...)
    -> ``invoice_paid``; amount (``total_open_amount``, ``InvoiceAmount``...) -> amount; customer
    (``cust_number``, ``customerID``...) -> account_id; currency. Dates are ISO 8601 or
    ``YYYYMMDD`` (as in the HighRadius export), or ``date_format`` (e.g. ``"%m/%d/%Y"``), taken
    in ``tz``. An open item has no clear date: only ``invoice_issued``, so it is censored at
    the as-of time. Exact duplicate rows are left out and counted as "AR: duplicate row"; an
    invoice id on two different rows is an error.
    """
    export = _Export(source, "accounts receivable")
    chosen = dict(columns or {})
    unknown = sorted(set(chosen) - set(_AR_COLUMNS))
    if unknown:
        raise LogError([Problem("columns", f"unknown purpose {', '.join(unknown)}; use "
                                           f"{', '.join(_AR_COLUMNS)}")], export.label)
    found: dict[str, str | None] = {}
    for purpose, names in _AR_COLUMNS.items():
        required = purpose in ("invoice_id", "document_date")
        candidates = (chosen[purpose],) if purpose in chosen else names
        found[purpose] = export.column(purpose.replace("_", " "), *candidates,
                                       required=required or purpose in chosen)
    export.stop_if_problems()
    used = [c for c in found.values() if c]
    dup = export.table.duplicated(subset=used, keep="first").to_numpy()
    export.skip("AR: duplicate row", int(dup.sum()))
    case = export.required_text(str(found["invoice_id"]))
    repeated = (case.duplicated(keep="first").to_numpy() & ~dup & case.notna().to_numpy())
    if repeated.any():
        export.problems.append(row_problem(
            str(found["invoice_id"]), export.rows[repeated], "invoice id already used on an earlier, "
            "different row:", "make invoice ids unique (e.g. prefix the company code) or remove "
            "the older version", case[repeated].head(50)))
    issued, due, cleared = (_ar_dates(export, found[p], date_format, tz)
                            for p in ("document_date", "due_date", "clear_date"))
    blank = (issued.isna() & export.text(found["document_date"]).isna()).to_numpy()
    if blank.any():
        export.problems.append(row_problem(str(found["document_date"]), export.rows[blank],
                                           "blank document date", "fill in the invoice date"))
    keep = ~dup
    common = {"case_id": case, "amount": export.numbers(found["amount"]),
              "account_id": export.text(found["customer"]),
              "currency": export.text(found["currency"])}
    parts = [_events(export, keep, "invoice_issued", issued, object_type="invoice", due_date=due,
                     **common),
             _events(export, keep, "invoice_paid", cleared, object_type="payment", **common)]
    return export.finish(parts)


def _ar_dates(export: _Export, col: str | None, date_format: str | None, tz: str) -> pd.Series:
    if col is None or date_format is not None:
        return export.times(col, tz=tz, date_format=date_format)
    raw = export.text(col)
    compact = raw.astype("string").str.fullmatch(r"\d{8}(?:\.0+)?").fillna(False).to_numpy()
    if not compact.any():
        return export.times(col, tz=tz)
    out = export.times(col, tz=tz) if (~compact & raw.notna().to_numpy()).any() else \
        pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    days = pd.to_datetime(raw[compact].str.slice(0, 8), format="%Y%m%d", errors="coerce")
    bad = days.isna().to_numpy()
    if bad.any():
        export.problems.append(row_problem(col, export.rows[compact][bad], "not a YYYYMMDD date:",
                                           ISO_HINT, raw[compact][bad].head(50)))
    out.loc[compact] = _localize(days, tz)
    return out


MAVEN_STAGES = ("Prospecting", "Engaging", "Won", "Lost")
MAVEN_DATES = ("%d-%m-%y", "%Y-%m-%d")  # data.world copy, Kaggle mirror


def maven_pipeline(source: Source) -> pd.DataFrame:
    """Maven Analytics "CRM Sales Opportunities" ``sales_pipeline`` table -> opportunity events.

    Columns: ``opportunity_id`` -> case_id; ``engage_date`` -> ``stage:engaging``;
    ``close_date`` -> ``closed_won`` (deal_stage Won) or ``closed_lost`` (Lost), with
    ``close_value`` -> amount (0 for lost deals, as in the table); ``sales_agent`` -> resource;
    ``account`` -> account_id and attribute ``account``; ``product`` -> attribute. Dates are
    ``DD-MM-YY`` or ``YYYY-MM-DD`` (midnight UTC); deal stages in any letter case.
    ``engage_quarter``/``close_quarter`` are derived and dropped.

    Engaging deals have only ``stage:engaging``: open, censored at the as-of time. The table has
    no creation date, so there is no ``opportunity_created`` event, and Prospecting deals (no
    engage date, no close date) have no time at all: they are left out and counted as "maven:
    Prospecting deal without dates" rather than given invented dates. Durations measured from
    this log therefore start at engagement, and the arrival of new deals is that of engagements.
    """
    export = _Export(source, "Maven CRM sales_pipeline")
    cols = {name: export.column(name, name) for name in
            ("opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date",
             "close_date", "close_value")}
    export.stop_if_problems()
    case = export.required_text(str(cols["opportunity_id"]))
    # copies of the table differ in letter case and date style (data.world: DD-MM-YY, the
    # Kaggle mirror: YYYY-MM-DD); both are read
    stage = export.required_text(str(cols["deal_stage"]))
    canonical = {name.casefold(): name for name in MAVEN_STAGES}
    stage = stage.map(lambda v: canonical.get(v.casefold(), v) if isinstance(v, str) else v)
    bad = (stage.notna() & ~stage.isin(MAVEN_STAGES)).to_numpy()
    if bad.any():
        export.problems.append(row_problem("deal_stage", export.rows[bad], "unknown deal_stage",
                                           f"use one of {', '.join(MAVEN_STAGES)}",
                                           stage[bad].head(50)))
    engaged = export.times(cols["engage_date"], date_format=MAVEN_DATES)
    closed = export.times(cols["close_date"], date_format=MAVEN_DATES)
    has_engage = export.text(cols["engage_date"]).notna()
    has_close = export.text(cols["close_date"]).notna()
    checks = (
        (stage.ne("Prospecting") & stage.notna() & ~has_engage, "engage_date",
         "deal past Prospecting without an engage_date", "fill in the engage date (DD-MM-YY)"),
        (stage.isin(["Won", "Lost"]) & ~has_close, "close_date",
         "Won/Lost deal without a close_date", "fill in the close date (DD-MM-YY)"),
        (stage.isin(["Prospecting", "Engaging"]) & has_close, "close_date",
         "open deal (Prospecting/Engaging) with a close_date", "set deal_stage to Won or Lost, or "
         "clear the close date"),
        (stage.eq("Prospecting") & has_engage, "engage_date",
         "Prospecting deal with an engage_date", "set deal_stage to Engaging"),
    )
    for mask, col, what, fix in checks:
        hits = mask.to_numpy(dtype=bool)
        if hits.any():
            export.problems.append(row_problem(col, export.rows[hits], what, fix))
    amount = export.numbers(cols["close_value"])
    prospecting = stage.eq("Prospecting").to_numpy()
    export.skip("maven: Prospecting deal without dates", int(prospecting.sum()))
    account = export.text(cols["account"])
    common = {"case_id": case, "object_type": "opportunity",
              "resource": export.text(cols["sales_agent"]), "account_id": account,
              "product": export.text(cols["product"]), "account": account}
    outcome = stage.map({"Won": "closed_won", "Lost": "closed_lost"})
    keep = ~prospecting
    return export.finish([
        _events(export, keep, "stage:engaging", engaged, **common),
        _events(export, keep & outcome.notna().to_numpy(), outcome, closed, amount=amount,
                **common),
    ])
