"""Compile the cash side of a scenario: contracts, billing, payment behaviour and dunning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revsim.distributions import Distribution, Uniform
from revsim.errors import suggest
from revsim.scenario import schema_money as M
from revsim.scenario.model import (
    BILLING_STAGE,
    COLLECTIONS_STAGE,
    ISSUED,
    REMINDED,
    CashModel,
    ContractModel,
    PaymentModel,
    Routing,
    StageModel,
)
from revsim.scenario.validate import ScenarioValidator
from revsim.units import format_duration

PERIODIC = {"monthly_advance", "monthly_arrears", "quarterly_advance", "annual_advance",
            "annual_arrears"}
SHARE_TOLERANCE = 1e-6


def _merged(base: Any, override: Any) -> dict[str, Any]:
    out = dict(base) if isinstance(base, Mapping) else {}
    if isinstance(override, Mapping):
        out.update(override)
    return out


def _internal_stage(name: str, index: int, pool: int, work: Distribution, outcome: int
                    ) -> StageModel:
    return StageModel(
        name=name, index=index, pool=pool, work=work, delay=None, discipline="fifo",
        priority=None, pool_priority=0, queue_limit=None, wip_limit=None, when_full="lose",
        patience=None, patience_mode=None, decay_outcome=outcome,
        routes=Routing((outcome,), (1.0,), (1.0,)), routes_by_segment={},
    )


class CashCompiler:
    """Builds the CashModel and the internal billing/collections stages, reporting problems."""

    def __init__(self, compiler: ScenarioValidator, stage_idx: dict[str, int], pool_names: list[str],
                 segment_names: list[str]) -> None:
        self.c = compiler
        self.raw = compiler.raw
        self.stage_idx = stage_idx
        self.pool_names = pool_names
        self.segments = segment_names
        self.onboarding: int | None = None  # known even when other cash tables are invalid

    def compile(self, n_stages: int) -> tuple[CashModel | None, list[StageModel]]:
        raw = self.raw
        if raw.get("deals") is None:
            for section in ("billing", "payment", "dunning"):
                if raw.get(section) is not None:
                    self.c.fail(section, "needs a [deals] table: only won deals are invoiced")
            return None, []
        deals_raw = raw["deals"]
        if isinstance(deals_raw, Mapping):
            # the contract tables are validated (once) per segment below
            deals_raw = {k: v for k, v in deals_raw.items() if k != "contract"}
        deals = self.c.validate(M.DealsSpec, deals_raw, "deals")
        onboarding = None
        if deals is not None and deals.onboarding is not None:
            if deals.onboarding not in self.stage_idx:
                self.c.fail("deals.onboarding", f"unknown stage '{deals.onboarding}'; "
                            f"{suggest(deals.onboarding, list(self.stage_idx))}")
            else:
                onboarding = self.stage_idx[deals.onboarding]
        self.onboarding = onboarding
        contracts = self._per_segment("deals", "contract", M.ContractSpec, self._contract)
        payments = self._payments()
        self._check_write_off(contracts, payments)
        extra: list[StageModel] = []
        billing_stage = None
        run_days: tuple[int, ...] = ()
        billing = self.c.validate(M.BillingSpec, raw["billing"], "billing") if raw.get(
            "billing") is not None else None
        if billing is not None:
            run_days = tuple(0 if d == "last" else int(d) for d in billing.run_days)
            for i, d in enumerate(run_days):
                if not 0 <= d <= 31:
                    self.c.fail(f"billing.run_days.{i}", "days of the month are 1..31 or \"last\"")
            st = self._staffed("billing", billing.pool, billing.work, BILLING_STAGE,
                               n_stages + len(extra), ISSUED)
            if st is not None:
                billing_stage = st.index
                extra.append(st)
        reminders: tuple[float, ...] = ()
        factor, window, collections_stage = 1.0, 0.0, None
        dunning = self.c.validate(M.DunningSpec, raw["dunning"], "dunning") if raw.get(
            "dunning") is not None else None
        if dunning is not None:
            reminders = tuple(dunning.reminders)
            if list(reminders) != sorted(reminders) or any(r <= 0 for r in reminders):
                self.c.fail("dunning.reminders", "must be positive times past due, in order")
            factor, window = dunning.factor, dunning.window
            st = self._staffed("dunning", dunning.pool, dunning.work, COLLECTIONS_STAGE,
                               n_stages + len(extra), REMINDED)
            if st is not None:
                collections_stage = st.index
                extra.append(st)
        if deals is None or contracts is None or payments is None:
            return None, extra
        return CashModel(
            onboarding=onboarding, contracts=contracts, payments=payments,
            billing_stage=billing_stage, run_days=run_days, reminders=reminders,
            dunning_factor=factor, dunning_window=window, collections_stage=collections_stage,
        ), extra

    def _staffed(self, section: str, pool: str | None, work: Any, name: str, index: int,
                 outcome: int) -> StageModel | None:
        if pool is None:
            if work is not None:
                self.c.fail(f"{section}.work", "staff time needs a pool; add pool = \"...\"")
            return None
        if name in self.stage_idx:
            self.c.fail(f"stages.{name}", f"'{name}' is reserved for the [{section}] pool's work; "
                        "rename the stage")
        if pool not in self.pool_names:
            self.c.fail(f"{section}.pool", f"unknown pool '{pool}'; {suggest(pool, self.pool_names)}")
            return None
        if work is None:
            self.c.fail(f"{section}.work", "required when a pool is given (staff time per item)")
            return None
        dist = self.c.dist(work, "duration", f"{section}.work")
        if dist is None:
            return None
        return _internal_stage(name, index, self.pool_names.index(pool), dist, outcome)

    def _per_segment(self, section: str, key: str, model: Any, build: Any) -> dict[int, Any] | None:
        table = self.raw.get(section) or {}
        base = table.get(key, {}) if key else {k: v for k, v in table.items() if k != "by_segment"}
        out: dict[int, Any] = {}
        default = self.c.validate(model, base, f"{section}.{key}" if key else section)
        ok = default is not None
        if default is not None:
            built = build(default, f"{section}.{key}" if key else section)
            ok = built is not None
            if built is not None:
                out[-1] = built
        by_segment = table.get("by_segment", {}) or {}
        for seg, override in by_segment.items():
            path = f"{section}.by_segment.{seg}"
            if seg not in self.segments:
                self.c.fail(path, f"unknown segment; {suggest(seg, self.segments)}")
                ok = False
                continue
            spec = self.c.validate(model, _merged(base, override), path)
            built = build(spec, path) if spec is not None else None
            if built is None:
                ok = False
                continue
            out[self.segments.index(seg)] = built
        return out if ok else None

    def _contract(self, spec: M.ContractSpec, path: str) -> ContractModel | None:
        ok = True
        if spec.billing == "milestones":
            total = sum(m.share for m in spec.milestones)
            if not spec.milestones:
                self.c.fail(f"{path}.milestones", "billing = \"milestones\" needs milestones")
                ok = False
            elif abs(total - 1) > SHARE_TOLERANCE:
                self.c.fail(f"{path}.milestones", f"shares sum to {total:.4g}, expected 1")
                ok = False
        elif spec.milestones:
            self.c.fail(f"{path}.milestones", f"given, but billing = \"{spec.billing}\"; "
                        "set billing = \"milestones\" or remove them")
            ok = False
        if spec.type == "one_off":
            if spec.billing in PERIODIC:
                self.c.fail(f"{path}.billing", f"a one-off contract cannot be billed "
                            f"\"{spec.billing}\"; use upfront, on_go_live or milestones")
                ok = False
            if spec.renewal > 0:
                self.c.fail(f"{path}.renewal", "a one-off contract does not renew")
                ok = False
        else:
            if spec.billing == "milestones":
                self.c.fail(f"{path}.billing", "milestones are for one-off contracts; a "
                            "subscription is billed upfront, on go-live or periodically")
                ok = False
            if spec.term <= 0:
                self.c.fail(f"{path}.term", "must be positive")
                ok = False
        if (spec.renewal_if_slow is None) != (spec.slow_onboarding is None):
            self.c.fail(f"{path}.renewal_if_slow", "give slow_onboarding and renewal_if_slow "
                        "together")
            ok = False
        if not ok:
            return None
        return ContractModel(
            one_off=spec.type == "one_off", term=spec.term, renewal=spec.renewal,
            slow_onboarding=spec.slow_onboarding, renewal_if_slow=spec.renewal_if_slow,
            billing=spec.billing, service_start=spec.service_start,
            milestones=tuple((m.share, m.at, m.after) for m in spec.milestones),
            terms=spec.terms * 24.0,
        )

    def _payments(self) -> dict[int, PaymentModel] | None:
        if self.raw.get("payment") is None:
            self.c.warnings.append("no [payment] table: every invoice is paid on time")
            return {-1: PaymentModel(1.0, 0.0, 0.0, None, None, 8766.0 * 10, 0.0, 0.5, 0.0)}
        return self._per_segment("payment", "", M.PaymentSpec, self._payment)

    def _payment(self, spec: M.PaymentSpec, path: str) -> PaymentModel | None:
        ok = True
        total = spec.on_time + spec.late + spec.never
        if abs(total - 1) > SHARE_TOLERANCE:
            self.c.fail(path, f"on_time + late + never shares sum to {total:.4g}, expected 1")
            ok = False
        if spec.late > 0 and spec.lateness is None:
            self.c.fail(f"{path}.lateness", "required when late > 0 (time past due of late payers)")
            ok = False
        lateness = self.c.dist(spec.lateness, "duration", f"{path}.lateness")
        on_time_delay = self.c.dist(spec.on_time_delay, "duration", f"{path}.on_time_delay")
        if spec.write_off_after <= 0:
            self.c.fail(f"{path}.write_off_after", "must be positive")
            ok = False
        if not ok or (spec.lateness is not None and lateness is None):
            return None
        return PaymentModel(
            on_time=spec.on_time, late=spec.late, never=spec.never, on_time_delay=on_time_delay,
            lateness=lateness, write_off_after=spec.write_off_after,
            partial_share=spec.partial_share, partial_first=spec.partial_first,
            partial_gap=spec.partial_gap,
        )

    def _check_write_off(self, contracts: dict[int, ContractModel] | None,
                         payments: dict[int, PaymentModel] | None) -> None:
        if not contracts or not payments:
            return
        keys = set(contracts) | set(payments)
        for seg in sorted(keys):
            c = contracts.get(seg, contracts.get(-1))
            p = payments.get(seg, payments.get(-1))
            if c is None or p is None:
                continue
            if p.write_off_after <= c.terms:
                where = "payment" if seg not in payments or seg == -1 else \
                    f"payment.by_segment.{self.segments[seg]}"
                who = "" if seg == -1 else f" of segment {self.segments[seg]}"
                self.c.fail(
                    f"{where}.write_off_after",
                    f"{format_duration(p.write_off_after)} is not longer than the payment terms"
                    f"{who} (net {c.terms / 24:g}); invoices would be written off before they "
                    "are due",
                )


def default_on_time_delay(terms_hours: float) -> Distribution:
    """On-time payers spread uniformly between issue and due date (Xero: ~half the terms)."""
    return Uniform(0.0, max(terms_hours, 1e-9))
