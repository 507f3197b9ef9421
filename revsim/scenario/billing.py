"""When a contract's term raises its invoices, and for how many cents each.

The contract arithmetic that both the engine (invoicing a won deal) and the model checks
(estimating the long-run invoice rate) need, so it sits with the model rather than in the engine.
"""

from __future__ import annotations

from revsim.scenario.model import ContractModel

MONTH = 730.5  # hours
YEAR = 8766.0


def split_cents(total: int, shares: list[float]) -> list[int]:
    """Split an amount in cents by shares; the rounding remainder goes to the last part."""
    parts = [int(round(total * s)) for s in shares[:-1]]
    return [*parts, total - sum(parts)]


def billing_plan(c: ContractModel, value: int, event: str, at: float) -> list[tuple[float, int]]:
    """Invoices (time, cents) of one term that the event ``event`` ("signature", "go_live"
    or "renewal") at time ``at`` triggers."""
    out: list[tuple[float, int]] = []
    if c.billing == "upfront":
        if event in ("signature", "renewal"):
            out.append((at, value))
    elif c.billing == "on_go_live":
        if event in ("go_live", "renewal"):
            out.append((at, value))
    elif c.billing == "milestones":
        parts = split_cents(value, [m[0] for m in c.milestones])
        for (_, trigger, after), cents in zip(c.milestones, parts, strict=True):
            if trigger == event:
                out.append((at + after, cents))
    elif event == c.service_start or event == "renewal":
        period = {"monthly": MONTH, "quarterly": 3 * MONTH, "annual": YEAR}[c.billing.split("_")[0]]
        n = max(1, round(c.term / period))
        step = c.term / n
        advance = c.billing.endswith("advance")
        parts = split_cents(value, [1.0 / n] * n)
        for k, cents in enumerate(parts):
            out.append((at + (k if advance else k + 1) * step, cents))
    return out
