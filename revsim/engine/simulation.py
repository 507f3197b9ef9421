"""One replication of a scenario: build the SimPy model, run it, summarise what it measured."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import count
from typing import Any, cast

import numpy as np

from revsim.engine.cash import CashRT
from revsim.engine.entities import Item, Lead, Wake
from revsim.engine.environment import Environment, StopRequest
from revsim.engine.monitor import LeadRecords, Level, ValueSink, VisitRecords
from revsim.engine.periods import PeriodLog
from revsim.engine.pool import PoolRT
from revsim.engine.source import SourceRT
from revsim.engine.stage import StageRT
from revsim.engine.streams import Streams
from revsim.engine.warm_start import place_start
from revsim.scenario.model import (
    ISSUED,
    LIVE,
    OUTCOME_NAMES,
    OUTCOME_SLOTS,
    REMINDED,
    WON,
    Model,
)


@dataclass
class ReplicationOutput:
    """What one replication measured over its observation window [warmup, horizon]."""

    replication: int
    warmup: float
    horizon: float
    totals: dict[str, float]
    sources: dict[str, dict[str, float]]
    stages: dict[str, dict[str, Any]]
    pools: dict[str, dict[str, float]]
    series: dict[str, np.ndarray]
    visits: dict[str, np.ndarray] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: with period ends: the whole-run counters at the window start and at every period end
    #: (see engine.periods.READING)
    period_readings: list[tuple[float, ...]] = field(default_factory=list)


class Simulation:
    """Builds and runs one replication. Pure: no I/O, no printing, no global random state."""

    def __init__(self, model: Model, root_seed: int, replication: int, *,
                 horizon: float | None = None, warmup: float | None = None,
                 records: bool = False, active_periods: bool = False,
                 batches: int = 1, stop: StopRequest | None = None,
                 periods: tuple[float, ...] = ()) -> None:
        self.model = model
        self.replication = replication
        self.horizon = float(horizon if horizon is not None else model.horizon)
        self.warmup = float(warmup if warmup is not None else model.warmup)
        state = model.start_state
        # A warm start is placed at its time; the window cannot start before it.
        self.start_at = state.at if state is not None else 0.0
        self.warmup = max(self.warmup, self.start_at)
        if not 0 <= self.warmup < self.horizon:
            raise ValueError(
                f"warm-up ({self.warmup:g} h) must be >= 0 and shorter than the horizon "
                f"({self.horizon:g} h)"
            )
        if batches < 1:
            raise ValueError("batches must be at least 1")
        self.batches = batches
        self.window_start = 0.0  # start of the current statistics window
        self.batch_outputs: list[ReplicationOutput] = []
        self.track_active = active_periods
        self.streams = Streams(root_seed, replication)
        self.env = Environment(stop=stop)
        self.records = VisitRecords() if records else None
        self.lead_records = LeadRecords() if records else None
        self.keep_values = records
        self.new_id = count(1).__next__
        self.first_touch = ValueSink(records)
        self.cycle_won = ValueSink(records)
        self.system = Level()
        heap_pools = {
            st.pool
            for st in model.stages
            if st.pool is not None and (st.discipline != "fifo" or st.pool_priority != 0)
        }
        self.pools = [PoolRT(self, p, p.index in heap_pools) for p in model.pools]
        self.stages = [
            StageRT(self, st, self.pools[st.pool] if st.pool is not None else None)
            for st in model.stages
        ]
        for st in self.stages:
            st.link(self.stages)
        self.nurture_draw = (
            self.streams.draws("nurture.after", model.nurture.after) if model.nurture else None
        )
        self.cash = CashRT(self, model.cash) if model.cash is not None else None
        self.sources = [SourceRT(self, s, i) for i, s in enumerate(model.sources)]
        self.series: dict[str, list[float]] = {"t": []}
        for st in self.stages:
            self.series[f"queue:{st.name}"] = []
            self.series[f"wip:{st.name}"] = []
        for p in self.pools:
            self.series[f"busy:{p.name}"] = []
            self.series[f"headcount:{p.name}"] = []
        self.series["system"] = []
        self.series["won"] = []
        self.series["bookings"] = []
        if self.cash is not None:
            for key in ("invoiced", "collected", "ar_outstanding"):
                self.series[key] = []
        self._won_total = 0
        self._bookings_total = 0.0
        # indexed by Item.origin (NEW, FROM_STATE); bookings in cents, as the cash ledger books
        self.won_by_origin = [0, 0]
        self.booked_by_origin = [0, 0]
        if periods and not (self.warmup < periods[0] and list(periods) == sorted(set(periods))
                            and periods[-1] == self.horizon):
            raise ValueError("period ends must increase after the window start and end at the "
                             "horizon")
        self.period_log = PeriodLog(self, periods) if periods else None
        # scheduled first, so a period ends before anything else due at its end happens
        for end in periods[:-1]:
            self._at(end, self._period_end)
        if state is not None:
            if self.start_at > 0:
                self._at(self.start_at, self._place_start)
            else:
                self._place_start(None)
        if self.warmup > 0:
            self._at(self.warmup, self._reset_statistics)
        elif self.period_log is not None and state is None:
            self.period_log.mark()
        # Batch means: the window is cut into equal batches, each summarised like a
        # replication; statistics restart at every cut.
        step = (self.horizon - self.warmup) / batches
        for i in range(1, batches):
            self._at(self.warmup + i * step, self._end_batch)
        self._at(self.start_at, self._sample)

    # -- plumbing used by stages and sources ---------------------------------------------------
    def _at(self, when: float, callback: Any) -> None:
        self.env.wake(Wake(self.env, callback), when - self.env._now)


    def enter_system(self, now: float) -> None:
        system = self.system
        system.n += 1
        system.sum_in += now

    def nurture_exhausted(self, item: Item) -> bool:
        """Whether the lead has been recycled ``max_cycles`` times already."""
        nurture = self.model.nurture
        return nurture is None or cast(Lead, item).cycles >= nurture.max_cycles

    def to_nurture(self, item: Item, now: float) -> None:
        """Recycle a lead: it comes back to the nurture stage after a delay, a few times at most."""
        lead = cast(Lead, item)  # only leads are routed to nurture
        nurture = self.model.nurture
        assert nurture is not None and self.nurture_draw is not None
        # StageRT.depart has already turned recycling beyond max_cycles into "disqualified"
        assert lead.cycles < nurture.max_cycles
        lead.cycles += 1
        ev = Wake(self.env, self._back_from_nurture)
        ev.lead = lead
        self.env.wake(ev, self.nurture_draw())

    def _back_from_nurture(self, ev: Wake) -> None:
        assert self.model.nurture is not None
        lead = ev.lead
        now = self.env._now
        # A recycled lead is workable again: its next first touch is timed from its return.
        lead.ready = now
        lead.first_touch = -1.0
        self.stages[self.model.nurture.to].offer(lead, now)

    def finish(self, item: Item, outcome: int, now: float) -> None:
        """The item's journey ends with ``outcome`` (won, lost, disqualified, ...)."""
        if outcome <= LIVE:
            # live/churned end a deal's delivery; issued/reminded end billing/collections work
            assert self.cash is not None
            if outcome in (ISSUED, REMINDED):
                self.cash.on_stage_exit(item, outcome, now)
            else:
                self.cash.delivery_done(cast(Lead, item), outcome, now)
            return
        # Outcome counts and values are kept by the stage the lead leaves (totals are summed
        # over stages at the end), so nothing is counted twice on the hot path.
        if outcome == WON:
            lead = cast(Lead, item)  # only leads are won
            self.cycle_won.add(now - lead.created)
            self._won_total += 1
            self._bookings_total += lead.value
            self.won_by_origin[lead.origin] += 1
            self.booked_by_origin[lead.origin] += int(round(lead.value * 100))
        system = self.system
        system.n -= 1
        system.sum_out += now
        if outcome == WON and self.cash is not None:
            self.cash.won(cast(Lead, item), now)

    # -- periodic and one-off events -------------------------------------------------------------
    def _place_start(self, ev: Wake | None) -> None:
        now = self.env._now
        place_start(self, now)
        if self.warmup == now == 0.0:
            # the window opens on the placed state: it is what is in the stages at its start
            self._reset_statistics(ev)

    def _period_end(self, ev: Wake) -> None:
        assert self.period_log is not None
        self.period_log.mark()

    def _sample(self, ev: Wake) -> None:
        now = self.env._now
        self._record_levels(now)
        for st in self.stages:
            st.waits.maybe_fold()
            st.times.maybe_fold()
            st.abandon_waits.maybe_fold()
        self.first_touch.maybe_fold()
        self.cycle_won.maybe_fold()
        nxt = now + self.model.sample_every
        if nxt <= self.horizon:
            self._at(nxt, self._sample)

    def _record_levels(self, now: float) -> None:
        for column, level in zip(self.series.values(), self._levels(now), strict=True):
            column.append(level)

    def _levels(self, now: float) -> list[float]:
        """Every level series' value at ``now``, in the order of ``self.series``."""
        levels: list[float] = [now]
        for st in self.stages:
            levels += [st.queue.n, st.wip.n]
        for p in self.pools:
            levels += [p.busy, p.active]
        levels += [self.system.n, self._won_total, self._bookings_total]
        if self.cash is not None:
            cash = self.cash
            levels += [cash.invoiced / 100.0, cash.collected / 100.0, cash.outstanding / 100.0]
        return levels

    def _end_batch(self, ev: Wake) -> None:
        now = self.env._now
        self.batch_outputs.append(self._summarise(now))
        self._reset_statistics(ev)

    def _reset_statistics(self, ev: Wake | None) -> None:
        now = self.env._now
        self.window_start = now
        for st in self.stages:
            st.reset_counts()
            st.queue.reset(now)
            st.wip.reset(now)
        for p in self.pools:
            p.reset(now)
            if p.active_log is not None:
                p.active_log.clear()
                p.saturated_since = now  # a spell in progress counts from the window start
        for src in self.sources:
            src.leads_in = 0
        self.system.reset(now)
        self.first_touch.reset()
        self.cycle_won.reset()
        if self.cash is not None:
            self.cash.reset_window()
        if self.period_log is not None:
            self.period_log.mark()

    # -- run -------------------------------------------------------------------------------------
    def run(self) -> ReplicationOutput:
        """Run to the horizon and summarise (the last batch, when batching)."""
        self.env.run(until=self.horizon)
        if self.period_log is not None:
            self.period_log.mark()
        out = self._summarise(self.horizon)
        self.batch_outputs.append(out)
        return out

    def _by_target(self, counts: list[Any]) -> dict[str, Any]:
        return {
            self.model.target_name(i - OUTCOME_SLOTS): v for i, v in enumerate(counts) if v
        }

    def _touched_within(self, hours: float) -> float:
        """The share of the window's first touches that came within ``hours`` of the lead
        being ready for one (speed to lead), NaN without any."""
        n = self.first_touch.count
        return (n - self.first_touch.count_above(hours)) / n if n else math.nan

    def _summarise(self, T: float) -> ReplicationOutput:
        window = T - self.window_start
        stages: dict[str, dict[str, Any]] = {}
        for st in self.stages:
            reneged = st.outcomes[st.reneged_slot]
            target = st.model.service_level
            abandon = st.abandon_waits
            stages[st.name] = {
                "arrivals": st.arrivals,
                "refused": st.outcomes[st.refused_slot],
                "reneged": reneged,
                "went_cold": st.went_cold,
                "started": st.waits.count,
                "waited": st.waits.count_positive(),
                # waits that ended in the window, served or given up: all admitted arrivals
                "wait_ended": st.waits.count + abandon.count,
                "waited_all": st.waits.count_positive() + abandon.count_positive(),
                "wait_sum_all": st.waits.sum() + abandon.sum(),
                "over_target": (st.waits.count_above(target) if target is not None
                                else float("nan")),
                "over_target_all": (st.waits.count_above(target) + abandon.count_above(target)
                                    if target is not None else float("nan")),
                # completions: departures after the stage's work, not leads that gave up
                "completed": st.times.count - reneged,
                "work_hours": st.work_sum,
                "wait_mean": st.waits.mean(),
                "wait_p50": st.waits.quantile(0.5),
                "wait_p90": st.waits.quantile(0.9),
                "time_mean": st.times.mean(),
                "time_p90": st.times.quantile(0.9),
                "queue_mean": st.queue.mean(T),
                "wip_mean": st.wip.mean(T),
                "queue_end": st.queue.n,
                "wip_end": st.wip.n,
                "outcomes": self._by_target(st.outcomes),
                "outcome_value": self._by_target(st.outcome_value),
            }
        pools: dict[str, dict[str, float]] = {}
        extra_periods: dict[str, np.ndarray] = {}
        for p in self.pools:
            p.track_capacity(T)
            busy = p.busy_hours(T)
            if p.active_log is not None:
                extra_periods[p.name] = p.active_periods(T)
            pools[p.name] = {
                "busy_hours": busy,
                "available_hours": p.cap_area,
                "utilisation": busy / p.cap_area if p.cap_area > 0 else float("nan"),
                "headcount_end": float(p.active),
                "busy_end": float(p.busy),
            }
        totals: dict[str, float] = {
            "window_hours": window,
            "leads_in": float(sum(src.leads_in for src in self.sources)),
            "system_mean": self.system.mean(T),
            "system_end": float(self.system.n),
            "first_touch_count": float(self.first_touch.count),
            "first_touch_mean": self.first_touch.mean(),
            "first_touch_p50": self.first_touch.quantile(0.5),
            "first_touch_p90": self.first_touch.quantile(0.9),
            "first_touch_within_5min": self._touched_within(5.0 / 60.0),
            "first_touch_within_1h": self._touched_within(1.0),
            "first_touch_within_24h": self._touched_within(24.0),
            "cycle_won_mean": self.cycle_won.mean(),
            "cycle_won_p50": self.cycle_won.quantile(0.5),
            "cycle_won_p90": self.cycle_won.quantile(0.9),
        }
        for code, name in OUTCOME_NAMES.items():
            slot = code + OUTCOME_SLOTS
            totals[f"outcome:{name}"] = float(sum(st.outcomes[slot] for st in self.stages))
            totals[f"value:{name}"] = float(sum(st.outcome_value[slot] for st in self.stages))
        sources = {src.model.name: {"leads_in": float(src.leads_in)} for src in self.sources}
        series = {k: np.asarray(v, dtype=float) for k, v in self.series.items()}
        if series["t"][-1] < T:
            # The window ends between two samples (the run stops before the events at its end,
            # the sample due there included): the level at T closes the last interval, so every
            # level series ends where the window does, a batch's end included.
            series = {k: np.append(v, level)
                      for (k, v), level in zip(series.items(), self._levels(T), strict=True)}
        visits = self.records.columns() if self.records is not None else None
        if self.records is not None:
            extra_entries = self.records.entries()
        extra: dict[str, Any] = {}
        if self.cycle_won.hist is None:  # the won deals' cycle times, for distribution plots
            extra["cycle_times_d"] = self.cycle_won.values() / 24.0
        if self.track_active:
            extra["active_periods"] = extra_periods
        if self.lead_records is not None:
            extra["leads"] = self.lead_records.columns()
            extra["entries"] = extra_entries
        if self.cash is not None:
            totals.update(self._cash_totals(T))
            extra["ledger"] = self.cash.ledger()
            extra["invoice_log"] = self.cash.invoice_log
        return ReplicationOutput(
            replication=self.replication,
            warmup=self.window_start,
            horizon=T,
            totals=totals,
            sources=sources,
            stages=stages,
            pools=pools,
            series=series,
            visits=visits,
            extra=extra,
            period_readings=self.period_log.readings if self.period_log is not None else [],
        )

    def _cash_totals(self, T: float) -> dict[str, float]:
        cash = self.cash
        assert cash is not None
        aging = cash.aging(T)
        window_days = (T - self.window_start) / 24.0
        ar = cash.outstanding / 100.0
        invoiced = cash.w_invoiced / 100.0
        ar_mean, open_mean = cash.time_averages(T, T - self.window_start)
        out = {
            "cash:invoiced": invoiced,
            "cash:invoices": float(cash.w_invoices),
            "cash:collected": cash.w_collected / 100.0,
            "cash:written_off": cash.w_written_off / 100.0,
            "cash:renewal_bookings": cash.w_renewal_bookings / 100.0,
            "cash:renewals": float(cash.w_renewals),
            "cash:not_renewed": float(cash.w_not_renewed),
            "cash:go_lives": float(cash.w_go_lives),
            "cash:churned_in_onboarding": float(cash.w_churned),
            "cash:dunning_touches": float(cash.w_touches),
            "cash:ar_outstanding": ar,
            "cash:ar_outstanding_mean": ar_mean / 100.0,
            "cash:open_invoices": float(len(cash.open)),
            "cash:open_invoices_mean": open_mean,
            # DSO, period-end method: AR at the end of the window / amount invoiced in the
            # window x days in the window.
            "cash:dso": ar / invoiced * window_days if invoiced > 0 else float("nan"),
            "cash:overdue_share": (ar - aging["current"] / 100.0) / ar if ar > 0 else float("nan"),
            "cash:time_to_cash_median": cash.time_to_cash.quantile(0.5),
            "cash:time_to_cash_p90": cash.time_to_cash.quantile(0.9),
            "cash:time_to_go_live_median": cash.time_to_live.quantile(0.5),
        }
        for bucket, cents in aging.items():
            out[f"cash:ar_{bucket}"] = cents / 100.0
        return out


def simulate(model: Model, root_seed: int, replication: int, *, horizon: float | None = None,
             warmup: float | None = None, records: bool = False,
             active_periods: bool = False, stop: StopRequest | None = None,
             periods: tuple[float, ...] = ()) -> ReplicationOutput:
    """Run replication ``replication`` of ``model`` under ``root_seed`` (``stop``: see
    :class:`StopRequest`; ``periods``: the period ends, in hours, whose counts to read)."""
    return Simulation(
        model, root_seed, replication, horizon=horizon, warmup=warmup, records=records,
        active_periods=active_periods, stop=stop, periods=periods,
    ).run()


def simulate_batches(model: Model, root_seed: int, replication: int, batches: int, *,
                     horizon: float | None = None, warmup: float | None = None,
                     stop: StopRequest | None = None) -> list[ReplicationOutput]:
    """One long run cut into ``batches`` equal batches after the warm-up (batch means)."""
    sim = Simulation(model, root_seed, replication, horizon=horizon, warmup=warmup,
                     batches=batches, stop=stop)
    sim.run()
    return sim.batch_outputs
