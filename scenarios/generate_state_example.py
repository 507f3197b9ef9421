"""Write the example state of scenarios/saas_sales_led.toml as of Monday 2027-01-04: the open
pipeline, the open invoices and the live contracts of a small sales-led SaaS company.

The rows are written out by hand below (a CRM export would give the same columns); run
``python scenarios/generate_state_example.py`` to rewrite the folder after a format change
(it replaces scenarios/state_example/ as a whole).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from revsim.state.files import write_snapshot
from revsim.state.snapshot import Customer, OpenInvoice, OpenItem, Snapshot

AS_OF = dt.datetime(2027, 1, 4)
HERE = Path(__file__).resolve().parent / "state_example"

# (stage, status, days in the stage, days since created, amount or None, segment)
DEALS = [
    ("qualify", "waiting", 0.5, 0.5, None, "smb"),
    ("qualify", "waiting", 1.0, 1.0, None, "mid"),
    ("qualify", "waiting", 2.0, 2.0, None, "smb"),
    ("qualify", "in_work", 0.1, 3.0, None, "enterprise"),
    ("prospect", "waiting", 1.5, 1.5, None, "mid"),
    ("discovery", "", 2, 9, 14000, "smb"),
    ("discovery", "", 4, 12, 38000, "mid"),
    ("discovery", "", 6, 15, 150000, "enterprise"),
    ("discovery", "", 9, 20, 11000, "smb"),
    ("discovery", "", 12, 26, 45000, "mid"),
    ("demo", "", 3, 18, 12500, "smb"),
    ("demo", "", 8, 25, 42000, "mid"),
    ("demo", "", 14, 33, 60000, "mid"),
    ("demo", "", 20, 41, 180000, "enterprise"),
    ("demo", "", 27, 52, 9500, "smb"),
    ("proposal", "", 5, 34, 16000, "smb"),
    ("proposal", "", 10, 44, 52000, "mid"),
    ("proposal", "", 18, 58, 35000, "mid"),
    ("proposal", "", 25, 70, 240000, "enterprise"),
    ("proposal", "", 33, 81, 21000, "smb"),
    ("negotiation", "", 2, 55, 48000, "mid"),
    ("negotiation", "", 6, 63, 13000, "smb"),
    ("negotiation", "", 11, 77, 120000, "enterprise"),
    ("negotiation", "", 19, 90, 39000, "mid"),
    ("legal", "", 3, 70, 27000, "mid"),
    ("legal", "", 9, 84, 160000, "enterprise"),
    ("legal", "", 15, 96, 15500, "smb"),
    ("onboarding", "", 10, 100, 44000, "mid"),
    ("onboarding", "", 30, 125, 130000, "enterprise"),
]

# (days since issued, net days, outstanding, reminders sent, segment)
INVOICES = [
    (3, 30, 14000, 0, "smb"), (8, 30, 38000, 0, "mid"), (12, 30, 9800, 0, "smb"),
    (20, 30, 41000, 0, "mid"), (26, 30, 12000, 0, "smb"), (33, 30, 27000, 1, "mid"),
    (40, 30, 15500, 2, "smb"), (47, 30, 52000, 3, "mid"), (62, 30, 11000, 4, "smb"),
    (95, 30, 8700, 4, "smb"), (10, 60, 37500, 0, "enterprise"), (45, 60, 35000, 0, "enterprise"),
    (70, 60, 40000, 2, "enterprise"), (5, 30, 23000, 0, "mid"), (17, 30, 19000, 0, "mid"),
]

# (months since the contract started, term months, ARR, segment)
CUSTOMERS = [
    (1, 12, 13000, "smb"), (2, 12, 9000, "smb"), (3, 12, 41000, "mid"), (4, 12, 15000, "smb"),
    (5, 12, 52000, "mid"), (6, 12, 11000, "smb"), (7, 12, 140000, "enterprise"),
    (8, 12, 36000, "mid"), (9, 12, 12500, "smb"), (10, 12, 47000, "mid"),
    (10, 12, 160000, "enterprise"), (11, 12, 14000, "smb"), (11, 12, 39000, "mid"),
    (13, 12, 10500, "smb"), (14, 12, 58000, "mid"), (15, 12, 125000, "enterprise"),
    (16, 12, 16500, "smb"), (17, 12, 44000, "mid"), (20, 12, 12000, "smb"),
    (22, 12, 61000, "mid"), (23, 12, 210000, "enterprise"), (23, 12, 9500, "smb"),
]


def snapshot() -> Snapshot:
    days = dt.timedelta(days=1)
    items = tuple(
        OpenItem(id=f"D-{i:03d}", stage=stage, entered_stage=AS_OF - in_stage * days,
                 created=AS_OF - age * days, amount=amount, segment=segment, status=status,
                 source="outbound" if stage == "prospect" else None)
        for i, (stage, status, in_stage, age, amount, segment) in enumerate(DEALS, start=1))
    invoices = tuple(
        OpenInvoice(id=f"INV-{i:04d}", issued=(AS_OF - age * days).date(),
                    due=(AS_OF - age * days).date() + net * days, outstanding=amount,
                    dunning_step=sent, segment=segment)
        for i, (age, net, amount, sent, segment) in enumerate(INVOICES, start=1))
    customers = []
    for i, (months, term, arr, segment) in enumerate(CUSTOMERS, start=1):
        start = dt.date(AS_OF.year + (AS_OF.month - 1 - months) // 12,
                        (AS_OF.month - 1 - months) % 12 + 1, 4)
        renews = dt.date(start.year + (start.month - 1 + term * (1 + months // term)) // 12,
                         (start.month - 1 + term * (1 + months // term)) % 12 + 1, 4)
        customers.append(Customer(id=f"C-{i:03d}", start=start, term_months=term,
                                  next_renewal=renews, arr=arr, segment=segment))
    return Snapshot(AS_OF, items, invoices, tuple(customers),
                    provenance={"written_by": "scenarios/generate_state_example.py",
                                "scenario": "scenarios/saas_sales_led.toml"})


if __name__ == "__main__":
    folder = write_snapshot(snapshot(), HERE)
    for path in sorted(folder.iterdir()):
        print(path.relative_to(HERE.parent.parent))
