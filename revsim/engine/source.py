"""Lead sources: exact non-homogeneous Poisson arrivals plus bursts, with per-lead attributes."""

from __future__ import annotations

from bisect import bisect_right
from heapq import heappush
from typing import TYPE_CHECKING

import numpy as np

from revsim.engine.arrivals import burst_times, nhpp_times
from revsim.engine.entities import NORMAL, Lead, Wake
from revsim.scenario.model import Model, SourceModel

if TYPE_CHECKING:
    from revsim.engine.simulation import Simulation


def arrival_times(model: Model, source: SourceModel, rng: np.random.Generator,
                  burst_rng: np.random.Generator, horizon: float) -> np.ndarray:
    """All arrival instants of one source within the horizon (sorted, capped at ``limit``)."""
    times = nhpp_times(
        rng,
        source.rate,
        model.start,
        horizon,
        hour_profile=source.hour_profile,
        weekday_profile=source.weekday_profile,
        month_profile=source.month_profile,
        limit=source.limit,
    )
    if source.bursts:
        extra = [burst_times(burst_rng, at, n, over) for at, n, over in source.bursts]
        times = np.sort(np.concatenate([times, *extra]), kind="stable")
        times = times[times < horizon]
    if source.limit is not None:
        times = times[: source.limit]
    return times


class SourceRT:
    """Feeds one source's leads into its entry stage, one scheduled arrival at a time."""

    def __init__(self, sim: Simulation, model: SourceModel, index: int) -> None:
        self.sim = sim
        self.env = sim.env
        self.model = model
        self.index = index
        streams = sim.streams
        prefix = f"source.{model.name}"
        self.times = arrival_times(
            sim.model,
            model,
            streams.generator(f"{prefix}.arrivals"),
            streams.generator(f"{prefix}.bursts"),
            sim.horizon,
        ).tolist()
        if sim.start_at > 0:  # a warm start holds what arrived before its time
            self.times = [t for t in self.times if t >= sim.start_at]
        self.next_i = 0  # index of the next arrival to create
        self.leads_in = 0
        self.segment_u = (
            streams.uniforms(f"{prefix}.segment") if len(model.segment_index) > 1 else None
        )
        self.segment_cum = np.cumsum(model.segment_probs).tolist()
        fixed_segment = model.segment_index[0] if model.segment_index else -1
        self.fixed_segment = fixed_segment
        # One value stream per segment, so the mix of segments does not shift value draws.
        self.value_draws = {}
        for seg in model.segment_index or (-1,):
            dist = model.value
            if dist is None and seg >= 0:
                dist = sim.model.segment_values[seg]
            if dist is not None:
                self.value_draws[seg] = streams.draws(f"{prefix}.value.{seg}", dist)
        self.score = streams.draws(f"{prefix}.score", model.score) if model.score else None
        self.entry = sim.stages[model.to]
        self.fixed_value = self.value_draws.get(fixed_segment) if self.segment_u is None else None
        self.new_id = sim.new_id
        self.key_base = streams.key(f"{prefix}.leads") & ((1 << 62) - 1)
        self.lead_records = sim.lead_records
        self.system = sim.system
        self.heap = self.env.heap
        self.next_eid = self.env.next_eid
        self.timer = Wake(self.env, self._arrive)
        # step() detaches but never mutates a callbacks list, so one list can be re-attached
        self._callbacks = self.timer.callbacks
        if self.times:
            self.env.wake(self.timer, self.times[0])

    def _arrive(self, ev: Wake) -> None:
        env = self.env
        heap = self.heap
        times = self.times
        n_times = len(times)
        until = env.until
        i = self.next_i
        now = env._now
        while True:
            self._new_lead(now)
            i += 1
            if i >= n_times:
                self.next_i = i
                return
            nxt = times[i]
            # Fuse arrivals: when the next arrival comes strictly before every pending event,
            # nothing can happen in between, so it is handled now instead of via the event queue
            # (the clock moves without an event; times are sorted, so it never goes back).
            if (heap and heap[0][0] <= nxt) or nxt >= until:
                break
            env._now = now = nxt
        self.next_i = i
        timer = self.timer
        timer.callbacks = self._callbacks  # one reusable timer: one arrival pending at a time
        heappush(heap, (nxt, NORMAL, self.next_eid(), timer))

    def _new_lead(self, now: float) -> None:
        if self.segment_u is not None:
            k = min(bisect_right(self.segment_cum, self.segment_u()), len(self.segment_cum) - 1)
            segment = self.model.segment_index[k]
            draw = self.value_draws.get(segment)
        else:
            segment = self.fixed_segment
            draw = self.fixed_value
        lead = Lead(
            self.new_id(),
            self.index,
            segment,
            draw() if draw is not None else 0.0,
            self.score() if self.score is not None else 0.0,
            now,
        )
        # Per-lead random numbers are keyed by (source, n-th lead of that source), which does
        # not depend on the other sources or on event order.
        lead.key = self.key_base + self.leads_in
        self.leads_in += 1
        if self.lead_records is not None:
            self.lead_records.add(lead.id, self.index, segment, lead.value, lead.score, now)
        system = self.system
        system.n += 1
        system.sum_in += now
        if self.entry.limited:
            self.entry.offer(lead, now)
        else:
            self.entry.arrive(lead, now)
