"""Stages: a queue in front of a staff pool, staffed work, an unstaffed delay, then routing."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from heapq import heappush
from typing import TYPE_CHECKING, Any

from revsim.engine.entities import NORMAL, Item, Server, Wake
from revsim.engine.monitor import Level, ValueSink
from revsim.engine.streams import keyed_uniform
from revsim.scenario.model import (
    BALKED,
    DISQUALIFIED,
    NURTURE,
    OPPORTUNITY_EVENT,
    OUTCOME_SLOTS,
    RENEGED,
    WON,
    StageModel,
)

if TYPE_CHECKING:
    from revsim.engine.pool import PoolRT
    from revsim.engine.simulation import Simulation


class StageRT:
    """One stage during one replication, with its own random streams and statistics."""

    def __init__(self, sim: Simulation, model: StageModel, pool: PoolRT | None) -> None:
        self.sim = sim
        self.env = sim.env
        self.heap = sim.env.heap
        self.next_eid = sim.env.next_eid
        self.model = model
        self.index = model.index
        self.name = model.name
        self.pool = pool
        self.discipline = model.discipline
        self.priority = model.priority
        self.pool_priority = model.pool_priority
        streams = sim.streams
        prefix = f"stage.{model.name}"
        self.work = (
            streams.draws(f"{prefix}.work", model.work, model.work_scale) if model.work else None
        )
        self.delay = streams.draws(f"{prefix}.delay", model.delay) if model.delay else None
        # outcome-specific delays: the route is drawn first, then that route's own delay
        self.route_delays = {
            target: streams.draws(f"{prefix}.delay.{sim.model.target_name(target)}", dist)
            for target, dist in model.delay_by_route.items()
        }
        self.patience = (
            streams.draws(f"{prefix}.patience", model.patience) if model.patience else None
        )
        self.renege = model.patience_mode == "renege"
        self.decay = model.patience_mode == "decay"
        self.routes = (model.routes.targets, model.routes.cumulative)
        self.routes_by_segment = {
            seg: (r.targets, r.cumulative) for seg, r in model.routes_by_segment.items()
        }
        random_routing = len(model.routes.targets) > 1 or any(
            len(r.targets) > 1 for r in model.routes_by_segment.values()
        )
        # routing decisions use per-lead keyed numbers, so the same lead takes the same branch
        # in two scenarios even when leads finish in a different order
        self.route_key = streams.key(f"{prefix}.route") if random_routing else 0
        self.queue_limit = model.queue_limit
        self.wip_limit = model.wip_limit
        self.limited = model.queue_limit is not None or model.wip_limit is not None
        self.blocks = self.limited and model.when_full == "block"
        # Leads that finished upstream (or arrived) but found this stage full, in arrival order:
        # (lead, origin stage or None, server held upstream or None, target index).
        self.blocked: deque[tuple[Item, StageRT | None, Server | None]] = deque()
        self.stages: list[StageRT] = []  # filled in by the simulation once all stages exist
        keep = sim.keep_values
        self.queue = Level()
        self.wip = Level()
        self.waits = ValueSink(keep)  # waits of the items that started work (served)
        self.times = ValueSink(keep)  # times in stage of the items that left it
        # Waits of the items that gave up waiting (reneged): with ``waits``, the waits of all
        # admitted arrivals whose wait ended in the window.
        self.abandon_waits = ValueSink(keep)
        self.refused_slot = BALKED + OUTCOME_SLOTS
        self.reneged_slot = RENEGED + OUTCOME_SLOTS
        self.first_touch_add = sim.first_touch.add
        # bound once: reset and fold empty the same buffers
        self.waits_add = self.waits.add
        self.times_add = self.times.add
        self.records = sim.records
        # bound once: a bound method made per visit costs an allocation in the compiled engine
        self.finish_callback: Callable[[Wake], None] = self._finish
        self.patience_callback: Callable[[Wake], None] = self._on_patience_end
        self.n_targets = OUTCOME_SLOTS + len(sim.model.stages)
        # Entering the stage where a deal becomes an opportunity creates pipeline: counted
        # over the whole run (per-period figures difference it), never reset.
        self.pipeline = sim.model.stage_events[model.index] == OPPORTUNITY_EVENT \
            if model.index < len(sim.model.stage_events) else False
        self.pipeline_count = 0
        self.pipeline_value = 0.0
        self.reset_counts()

    @property
    def arrivals(self) -> int:
        """Arrivals in the window, by flow balance: departures plus refused leads plus the
        change in how many are in the stage (cheaper than counting each arrival)."""
        return self.times.count + self.outcomes[self.refused_slot] + self.wip.n - self.wip.n0

    def link(self, stages: list[StageRT]) -> None:
        """Called once every stage exists: precompute what the hot path needs to know."""
        self.stages = stages
        model = self.model
        all_targets = set(model.routes.targets).union(
            *(r.targets for r in model.routes_by_segment.values())
        )
        if self.decay:
            all_targets.add(model.decay_outcome)
        self.may_block = any(stages[t].blocks for t in all_targets if t >= 0)
        self.single_target = (
            model.routes.targets[0]
            if len(model.routes.targets) == 1 and not model.routes_by_segment
            else None
        )
        # what a server's completion event calls: straight to routing, or the delay first
        self._done_callbacks: list[Callable[[Any], None]] = [
            self._work_done_then_delay if self.delay else self._work_done
        ]

    def reset_counts(self) -> None:
        self.work_sum = 0.0
        # Indexed by target + OUTCOME_SLOTS: outcomes are small negative codes, stages >= 0.
        self.outcomes = [0] * self.n_targets
        self.outcome_value = [0.0] * self.n_targets
        self.went_cold = 0  # served after their patience ran out (patience mode "decay")
        self.waits.reset()
        self.times.reset()
        self.abandon_waits.reset()

    # -- entering ------------------------------------------------------------------------------
    def has_room(self) -> bool:
        if self.wip_limit is not None and self.wip.n >= self.wip_limit:
            return False
        if self.queue_limit is not None and self.queue.n >= self.queue_limit:
            pool = self.pool
            return pool is not None and bool(pool.free) and pool.is_open(self.env._now)
        return True

    def offer(self, lead: Item, now: float) -> None:
        """A lead arrives from outside the stage (a source, nurture or a delay upstream)."""
        if self.limited and not self.has_room():
            if self.blocks:
                self.blocked.append((lead, None, None))
                return
            if self.records is not None:
                self.records.enter(lead.id, self.index, now)
            # Refused: counted by its outcome (see ``arrivals``), not in the times in stage,
            # which it never spent.
            self._record(lead, now, now, now, BALKED)
            self.sim.finish(lead, BALKED, now)
            return
        self.arrive(lead, now)

    def arrive(self, lead: Item, now: float) -> None:
        lead.hops += 1
        if self.pipeline:
            self.pipeline_count += 1
            self.pipeline_value += lead.value
        if self.records is not None:
            self.records.enter(lead.id, self.index, now)
        lead.stage = self
        lead.t_arrive = now
        wip = self.wip
        wip.n += 1
        wip.sum_in += now
        pool = self.pool
        if pool is None:
            lead.t_start = now
            lead.worker = -1
            ev = Wake(self.env, self.finish_callback)
            ev.lead = lead
            self.env.wake(ev, self._delay_for(lead, ev))
            return
        if self.patience is not None:
            lead.patience = self.patience()
            lead.cold = False
        if pool.free and (pool.always or pool.calendar.is_open(now)):
            self.start(lead, pool.free.pop() if not pool.ramping else pool.take_free(now), now)
            return
        if pool.heap:
            pool.enqueue(lead, self)
        else:
            pool.queue.append((lead, lead.token, self))  # PoolRT.enqueue, FIFO mode, inlined
        queue = self.queue
        queue.n += 1
        queue.sum_in += now
        if self.renege and lead.patience < math.inf:
            ev = Wake(self.env, self.patience_callback)
            ev.lead = lead
            ev.token = lead.token
            self.env.wake(ev, lead.patience)

    # -- a warm start: items already in the stage -----------------------------------------------
    def _enter_placed(self, lead: Item, now: float, entered: float) -> None:
        lead.hops = 1
        lead.stage = self
        lead.t_arrive = entered
        wip = self.wip
        wip.n += 1
        wip.sum_in += now
        if self.records is not None:
            self.records.enter(lead.id, self.index, entered)

    def place_waiting(self, lead: Item, now: float, entered: float, patience: float,
                      patience_left: float) -> None:
        """Queue an item that has waited since ``entered`` (it starts at once if staff are
        free); ``patience`` is its whole patience, ``patience_left`` what remains of it."""
        self._enter_placed(lead, now, entered)
        lead.patience = patience
        lead.cold = False
        pool: PoolRT = self.pool  # type: ignore[assignment]  # only staffed stages queue
        if pool.free and pool.is_open(now):
            self.start(lead, pool.take_free(now), now)
            return
        pool.enqueue(lead, self)
        queue = self.queue
        queue.n += 1
        queue.sum_in += now
        if self.renege and patience_left < math.inf:
            ev = Wake(self.env, self.patience_callback)
            ev.lead = lead
            ev.token = lead.token
            self.env.wake(ev, patience_left)

    def resume_work(self, lead: Item, server: Server, now: float, entered: float,
                    started: float, work: float) -> None:
        """An item whose work began at ``started``: ``server`` stays busy with it for the
        ``work`` hours (working hours) that remain."""
        self._enter_placed(lead, now, entered)
        pool: PoolRT = self.pool  # type: ignore[assignment]  # work is staffed
        pool.busy += 1
        if pool.active_log is not None:
            pool.check_saturation(now)
        if pool.always:
            pool.busy_in += now
            end = now + work
        else:
            pool.busy_in += pool.calendar.cumulative(now)
            end = pool.calendar.add_working_time(now, work)
        self.work_sum += work
        server.busy = True
        lead.cold = False
        lead.t_start = started
        lead.worker = server.id
        server.lead = lead
        timer = server.timer
        timer.callbacks = self._done_callbacks
        heappush(self.heap, (end, NORMAL, self.next_eid(), timer))

    def hold_in_delay(self, lead: Item, now: float, entered: float, delay: float,
                      target: int | None) -> None:
        """An item in the stage's unstaffed delay: it leaves after ``delay`` hours, to
        ``target`` when its route was drawn already (outcome-specific delays)."""
        self._enter_placed(lead, now, entered)
        lead.t_start = entered
        lead.worker = -1
        ev = Wake(self.env, self.finish_callback)
        ev.lead = lead
        ev.target = target
        self.env.wake(ev, delay)

    # -- work ----------------------------------------------------------------------------------
    def start_from_queue(self, lead: Item, server: Server, now: float) -> None:
        lead.token += 1
        queue = self.queue
        queue.n -= 1
        queue.sum_out += now
        self.start(lead, server, now)
        if self.blocked:
            self.admit_blocked(now)  # the queue got shorter: a blocked lead may fit now

    def start(self, lead: Item, server: Server, now: float) -> None:
        wait = now - lead.t_arrive
        self.waits_add(wait)  # its count is the number of starts; its zeros, the non-waits
        if lead.first_touch < 0.0:
            lead.first_touch = now
            self.first_touch_add(now - lead.ready)
        work = self.work()  # type: ignore[misc]
        pool: PoolRT = self.pool  # type: ignore[assignment]
        if pool.plain and not self.decay:  # nothing to adjust: skip the checks below
            pool.busy += 1
            pool.busy_in += now
            end = now + work
        else:
            if self.decay:
                lead.cold = wait > lead.patience
                if lead.cold:
                    self.went_cold += 1
            if server.ramp is not None:
                work /= server.productivity(now)
            pool.busy += 1
            if pool.active_log is not None:
                pool.check_saturation(now)
            if pool.always:
                pool.busy_in += now
                end = now + work
            else:
                calendar = pool.calendar
                pool.busy_in += calendar.cumulative(now)
                end = calendar.add_working_time(now, work)
        self.work_sum += work
        server.busy = True
        lead.t_start = now
        lead.worker = server.id
        server.lead = lead
        timer = server.timer
        timer.callbacks = self._done_callbacks
        heappush(self.heap, (end, NORMAL, self.next_eid(), timer))

    def _work_done_then_delay(self, ev: Wake) -> None:
        """Staffed work is over: free the server, then the unstaffed delay runs."""
        server: Server = ev.server
        lead = server.lead  # read first: releasing the server may hand it the next item
        pool: PoolRT = self.pool  # type: ignore[assignment]  # staffed: there is a pool
        pool.release(server, self.env._now)
        ev2 = Wake(self.env, self.finish_callback)
        ev2.lead = lead
        self.env.wake(ev2, self._delay_for(lead, ev2))

    def _delay_for(self, lead: Item, ev: Wake) -> float:
        """The unstaffed delay; with outcome-specific delays the route is drawn now."""
        if self.route_delays:
            target = self.route(lead)
            ev.target = target
            draw = self.route_delays.get(target, self.delay)
            return draw()  # type: ignore[misc]
        return self.delay()  # type: ignore[misc]

    def _work_done(self, ev: Wake) -> None:
        """Staffed work is over (no delay follows): route the lead and free the server."""
        server: Server = ev.server
        lead: Item = server.lead
        target = self.single_target
        if target is None or lead.cold:
            target = self.route(lead)
        self._move_on(lead, server, target)

    def _finish(self, ev: Wake) -> None:
        """The unstaffed delay is over: route the lead (unless the route was drawn already)."""
        lead: Item = ev.lead
        target = ev.target  # drawn already when delays depend on the route
        if target is None:
            target = self.single_target
            if target is None or lead.cold:
                target = self.route(lead)
        self._move_on(lead, None, target)

    def _move_on(self, lead: Item, server: Server | None, target: int) -> None:
        now = self.env._now
        if self.may_block and target >= 0:
            dest = self.stages[target]
            if dest.blocks and not dest.has_room():
                dest.blocked.append((lead, self, server))
                return
        if server is not None:
            pool: PoolRT = self.pool  # type: ignore[assignment]  # a server: there is a pool
            pool.release(server, now)
        self.depart(lead, now, target)

    def route(self, lead: Item) -> int:
        targets, cumulative = self.routes
        if self.routes_by_segment:
            targets, cumulative = self.routes_by_segment.get(lead.segment, self.routes)
        if len(targets) == 1:
            target = targets[0]
            if not lead.cold:
                return target
        else:
            u = keyed_uniform(self.route_key, lead.key, lead.hops)
            target = targets[min(bisect_right(cumulative, u), len(targets) - 1)]
        if lead.cold and (target >= 0 or target == WON):
            lead.cold = False
            return self.model.decay_outcome
        return target

    # -- leaving -------------------------------------------------------------------------------
    def depart(self, lead: Item, now: float, target: int) -> None:
        """The lead leaves this stage towards ``target`` (a stage index or an outcome)."""
        if target == NURTURE and self.sim.nurture_exhausted(lead):
            target = DISQUALIFIED  # recycled often enough: recorded as what happens to it
        self.times_add(now - lead.t_arrive)  # its count is the number of departures
        slot = target + OUTCOME_SLOTS
        self.outcomes[slot] += 1
        self.outcome_value[slot] += lead.value
        if self.records is not None:
            self.records.add(lead.id, self.index, lead.t_arrive, lead.t_start, now, target,
                             lead.value, lead.worker)
        wip = self.wip
        wip.n -= 1
        wip.sum_out += now
        if self.blocked:
            self.admit_blocked(now)
        if target >= 0:
            self.stages[target].offer(lead, now)
        elif target == NURTURE:
            self.sim.to_nurture(lead, now)
        else:
            self.sim.finish(lead, target, now)

    def _record(self, lead: Item, arrival: float, start: float, end: float, target: int) -> None:
        slot = target + OUTCOME_SLOTS
        self.outcomes[slot] += 1
        self.outcome_value[slot] += lead.value
        if self.sim.records is not None:
            self.sim.records.add(lead.id, self.index, arrival, start, end, target, lead.value, -1)

    def admit_blocked(self, now: float) -> None:
        """Space freed up: let blocked leads in, releasing the servers they held upstream."""
        while self.blocked and self.has_room():
            lead, origin, server = self.blocked.popleft()
            if origin is None:
                self.arrive(lead, now)
                continue
            if server is not None:
                origin.pool.release(server, now)  # type: ignore[union-attr]
            origin.depart(lead, now, self.index)

    def _on_patience_end(self, ev: Wake) -> None:
        lead: Item = ev.lead
        if lead.token != ev.token or lead.stage is not self:
            return  # already served or moved on
        now = self.env._now
        lead.token += 1
        queue = self.queue
        queue.n -= 1
        queue.sum_out += now
        lead.t_start = now
        lead.worker = -1
        self.abandon_waits.add(now - lead.t_arrive)
        self.depart(lead, now, RENEGED)
