"""The cash side of a scenario file: deals and contracts, billing, payment behaviour, dunning."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from revsim.errors import quoted
from revsim.limits import MAX_TERMS_DAYS
from revsim.scenario.schema_base import DistSpec, Duration, Probability, Section

BILLING_SCHEDULES = (
    "upfront",
    "on_go_live",
    "monthly_advance",
    "monthly_arrears",
    "quarterly_advance",
    "annual_advance",
    "annual_arrears",
    "milestones",
)


def _terms(value: Any) -> int:
    """Payment terms in days: 30, "30", "net 30", "Net-60"."""
    if isinstance(value, bool):
        raise ValueError("expected payment terms such as \"net 30\"")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"payment terms must be a whole number of days, got {value!r}")
        days = value
    elif not isinstance(value, str):
        raise ValueError(f"expected payment terms such as \"net 30\", got {quoted(value)}")
    else:
        match = re.fullmatch(r"\s*(?:net(?:[\s_]+|-(?=\d)))?(\d+)\s*(?:d|days?)?\s*", str(value),
                             re.I)
        if not match:
            raise ValueError(f"cannot read payment terms {quoted(value)}; write e.g. \"net 30\" "
                             "or 30")
        days = int(match.group(1))
    if days != int(days) or days < 0:
        raise ValueError(f"payment terms must be a whole number of days >= 0, got {quoted(value)}")
    if days > MAX_TERMS_DAYS:
        raise ValueError(f"payment terms of {int(days):,} days are more than the "
                         f"{MAX_TERMS_DAYS:,} revsim accepts; check the number")
    return int(days)


Terms = Annotated[
    int,
    BeforeValidator(_terms),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
            "description": "Payment terms in days after the invoice date.",
            "examples": ["net 30", 60],
        }
    ),
]


class Milestone(Section):
    """One invoice of a milestone schedule: a share of the contract value at an event."""

    share: Probability = Field(description="Share of the contract value (all shares sum to 1).")
    at: Literal["signature", "go_live"] = Field(description="The event that triggers it.")
    after: Duration = Field(0.0, description="Delay after the event.")


class ContractSpec(Section):
    """What a won deal books and how it is billed. Every field can be overridden by segment."""

    type: Literal["one_off", "subscription"] = Field(
        "subscription", description="A one-off sale, or a subscription with terms and renewals."
    )
    term: Duration = Field(8766.0, description="Subscription term (the deal value is per term).")
    renewal: Probability = Field(0.0, description="Probability of renewing at each term end.")
    slow_onboarding: Duration | None = Field(
        None, description="Go-live slower than this (after signature) uses renewal_if_slow."
    )
    renewal_if_slow: Probability | None = Field(
        None, description="Renewal probability after a slow onboarding."
    )
    billing: Literal[BILLING_SCHEDULES] = Field(  # type: ignore[valid-type]
        "annual_advance", description="Invoice schedule."
    )
    service_start: Literal["signature", "go_live"] = Field(
        "go_live", description="When a subscription's billing periods start."
    )
    milestones: list[Milestone] = Field(
        default_factory=list, description="Invoices when billing = \"milestones\"."
    )
    terms: Terms = Field(30, description="Payment terms (net days).")


class DealsSpec(Section):
    """Won deals: contracts, and the delivery stage they enter."""

    onboarding: str | None = Field(
        None, description="Stage won deals enter; delivery stages route to `live` or `churned`."
    )
    contract: ContractSpec = Field(default_factory=ContractSpec)  # type: ignore[arg-type]
    by_segment: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-segment overrides of `contract` fields."
    )


class PaymentSpec(Section):
    """When customers pay, relative to the due date: on time, late, or never."""

    on_time: Probability = Field(description="Share of invoices paid on or before the due date.")
    late: Probability = Field(description="Share paid after the due date.")
    never: Probability = Field(0.0, description="Share never paid (written off).")
    on_time_delay: DistSpec | None = Field(
        None, description="Days from issue to payment of on-time payers (default: spread "
        "uniformly over the terms); capped at the due date."
    )
    lateness: DistSpec | None = Field(None, description="Time past due of late payers.")
    write_off_after: Duration = Field(
        4320.0, description="Invoice age at which an unpaid invoice is written off."
    )
    partial_share: Probability = Field(0.0, description="Share of payers who pay in two parts.")
    partial_first: float = Field(0.5, gt=0, lt=1, description="Fraction paid in the first part.")
    partial_gap: Duration = Field(720.0, description="Time between the two parts.")
    by_segment: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-segment overrides of these fields."
    )


class BillingSpec(Section):
    """Issuing invoices: optionally by a billing pool, optionally only on billing-run days."""

    pool: str | None = Field(None, description="Billing staff pool (None: issued at once).")
    work: DistSpec | None = Field(None, description="Clerk time per invoice.")
    run_days: list[int | Literal["last"]] = Field(
        default_factory=list,
        description="Days of the month with a billing run, e.g. [1, 15] or [\"last\"]; "
        "empty: any day.",
    )


class DunningSpec(Section):
    """Payment reminders at set days past due; each raises the payment hazard for a while."""

    reminders: list[Duration] = Field(description="Times past due, e.g. [\"1 d\", \"7 d\"].")
    factor: float = Field(2.0, ge=1, le=1000, description="Payment hazard multiplier after a reminder.")
    window: Duration = Field(168.0, description="How long a reminder's effect lasts.")
    pool: str | None = Field(None, description="Collections pool that sends reminders.")
    work: DistSpec | None = Field(None, description="Collector time per reminder.")
