"""An invoice log without due dates still fits the cash side: each invoice is taken as due its
terms after issue (a terms column where the log has one, else 30 days, said so), and the payment
behaviour is the time from issue to payment split there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import revsim

START = dt.datetime(2024, 1, 1)


def write_log(tmp_path: Path, terms: list[str] | None = None, n: int = 80) -> tuple[Path, list]:
    """Invoices issued every 3 days, most paid 5-70 days later (a local generator)."""
    rng = np.random.default_rng(7)
    header = "case_id,activity,timestamp,object_type,amount" + (",payment_terms" if terms else "")
    rows, facts = [header], []
    for i in range(n):
        issued = START + dt.timedelta(days=3 * i)
        extra = f",{terms[i % len(terms)]}" if terms else ""
        rows.append(f"I{i},invoice_issued,{issued:%Y-%m-%dT%H:%M:%SZ},invoice,{1000 + i}{extra}")
        paid = None
        if rng.random() < 0.9:
            paid = issued + dt.timedelta(days=int(rng.integers(5, 70)))
            rows.append(f"I{i},invoice_paid,{paid:%Y-%m-%dT%H:%M:%SZ},invoice,{1000 + i}{extra}")
        facts.append((issued, paid))
    path = tmp_path / "invoices.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path, facts


def expected_on_time(facts: list, terms_days: list[float], as_of: dt.datetime) -> float:
    due = [issued + dt.timedelta(days=t) for (issued, _), t in zip(facts, terms_days, strict=True)]
    passed = [(paid, d) for (_, paid), d in zip(facts, due, strict=True) if d <= as_of]
    return sum(1 for paid, d in passed if paid is not None and paid <= d) / len(passed)


def fitted_payment(path: Path) -> tuple[dict, list[str], dt.datetime]:
    fitted = revsim.fit(path)
    scenario = revsim.loads(fitted.to_toml())
    fitted.model()  # it runs
    return scenario.raw["payment"], fitted.notes, fitted.log.as_of.to_pydatetime().replace(
        tzinfo=None)


def test_without_terms_30_days_are_assumed_and_said(tmp_path: Path) -> None:
    path, facts = write_log(tmp_path)
    payment, notes, as_of = fitted_payment(path)
    assert any("the invoices have no due dates: each is taken as due 30 days after issue "
               "(assumed" in n for n in notes)
    assert payment["on_time"] == pytest.approx(expected_on_time(facts, [30] * len(facts), as_of),
                                               abs=1e-6)
    assert "on_time_delay" in payment and "lateness" in payment


def test_a_terms_column_gives_each_invoice_its_terms(tmp_path: Path) -> None:
    path, facts = write_log(tmp_path, terms=["Net 45", "15"])
    payment, notes, as_of = fitted_payment(path)
    assert any("each is taken as due its payment_terms after issue, and" in n for n in notes)
    days = [45.0 if i % 2 == 0 else 15.0 for i in range(len(facts))]
    assert payment["on_time"] == pytest.approx(expected_on_time(facts, days, as_of), abs=1e-6)
