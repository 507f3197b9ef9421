"""Per-period counts: the run's whole-run counters read at each period boundary, exactly.

A period's flow (deals won, bookings, cash collected, ...) is the difference of two
consecutive readings, and its stocks (AR, open invoices) are the reading at its end, so they
are exact, not interpolated from the sampled level series. Money is read in cents, so the parts
of a split add up to their total exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from revsim.engine.simulation import Simulation

#: What each reading holds, in order: whole-run counts (cents for money), then two stocks.
READING = (
    "won_open_pipeline", "won_new_leads",
    "bookings_open_pipeline_cents", "bookings_new_leads_cents",
    "renewals", "renewal_bookings_cents",
    "opportunities_created", "pipeline_created",
    "invoices", "invoiced_cents",
    "cash_from_new_invoices_cents", "cash_from_open_ar_cents",
    "written_off_cents",
    "ar_outstanding_cents", "open_invoices",
)
#: The readings that are levels at the reading's time, not whole-run counts.
STOCKS = frozenset({"ar_outstanding_cents", "open_invoices"})


class PeriodLog:
    """Readings at the start of the window and at every period end (the last: the horizon)."""

    def __init__(self, sim: Simulation, ends: tuple[float, ...]) -> None:
        self.sim = sim
        self.ends = ends
        self.readings: list[tuple[float, ...]] = []

    def mark(self) -> None:
        sim = self.sim
        pipeline_count = 0
        pipeline_value = 0.0
        for st in sim.stages:
            if st.pipeline:
                pipeline_count += st.pipeline_count
                pipeline_value += st.pipeline_value
        cash = sim.cash
        if cash is not None:
            money = (cash.renewal_count, cash.renewal_booked, cash.issued_count, cash.invoiced,
                     cash.collected_by_origin[0], cash.collected_by_origin[1],
                     cash.written_off, cash.outstanding, len(cash.open))
        else:
            money = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        self.readings.append((
            sim.won_by_origin[1], sim.won_by_origin[0],
            sim.booked_by_origin[1], sim.booked_by_origin[0],
            money[0], money[1], pipeline_count, pipeline_value, *money[2:],
        ))
