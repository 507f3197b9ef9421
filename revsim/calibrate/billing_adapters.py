"""Billing exports -> canonical invoice and payment events: Stripe invoices and a generic
accounts-receivable (ERP) export.

Each adapter takes the raw export (a DataFrame or a CSV path) and returns a DataFrame that
``read_event_log`` accepts (see revsim.calibrate.export_table); problems in the export itself
(missing columns, bad dates, inconsistent statuses) raise ``LogError``, all at once.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.export_table import (
    RawExport,
    Source,
    export_events,
    localize,
)
from revsim.calibrate.raw_table import ISO_HINT, calendar_times, row_problem, time_range
from revsim.calibrate.text_input import LogError
from revsim.errors import Problem

ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                "vnd", "vuv", "xaf", "xof", "xpf"}
"""Stripe currencies whose amounts are whole units, not hundredths."""


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
    export = RawExport(source, "Stripe invoices")
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

    export.required_text(c_created)  # the issue time falls back on it
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
        export_events(export, live, "invoice_issued", issued, amount=due_amount, due_date=due, **common),
        export_events(export, live, "invoice_paid", paid, amount=paid_amount,
                **{**common, "object_type": "payment"}),
        export_events(export, live, "invoice_written_off", written,
                amount=(due_amount - paid_amount.fillna(0.0)), **common),
        export_events(export, live, "invoice_voided", voided, amount=due_amount, **common),
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
    export = RawExport(source, "accounts receivable")
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
    parts = [export_events(export, keep, "invoice_issued", issued, object_type="invoice", due_date=due,
                     **common),
             export_events(export, keep, "invoice_paid", cleared, object_type="payment", **common)]
    return export.finish(parts)


def _ar_dates(export: RawExport, col: str | None, date_format: str | None, tz: str) -> pd.Series:
    if col is None or date_format is not None:
        return export.times(col, tz=tz, date_format=date_format)
    raw = export.text(col)
    compact = raw.astype("string").str.fullmatch(r"\d{8}(?:\.0+)?").fillna(False).to_numpy()
    if not compact.any():
        return export.times(col, tz=tz)
    out = export.times(col, tz=tz) if (~compact & raw.notna().to_numpy()).any() else \
        pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    digits = raw[compact].str.slice(0, 8)
    days = pd.to_datetime(digits, format="%Y%m%d", errors="coerce")
    bad = days.isna().to_numpy()
    far = np.zeros(len(bad), dtype=bool)
    if bad.any():
        far[bad] = calendar_times(digits[bad], ("%Y%m%d",))
        bad &= ~far
    if bad.any():
        export.problems.append(row_problem(col, export.rows[compact][bad], "not a YYYYMMDD date:",
                                           ISO_HINT, raw[compact][bad].head(50)))
    out.loc[compact] = time_range(localize(days, tz), raw[compact], export.rows[compact], col,
                                  export.problems, also=far)
    return out
