"""Staff pools: servers that follow a working calendar, get hired, ramp up and leave."""

from __future__ import annotations

import math
from collections import deque
from heapq import heappop, heappush
from itertools import count
from typing import TYPE_CHECKING, Any

import numpy as np

from revsim.engine.calendar import WorkingCalendar
from revsim.engine.entities import Item, Server, Wake
from revsim.engine.streams import keyed_uniform, mix64
from revsim.scenario.model import PoolModel

if TYPE_CHECKING:
    from revsim.engine.simulation import Simulation
    from revsim.engine.stage import StageRT


_HIRE_KEYS = 1 << 40  # keys of planned hires: _HIRE_KEYS + j * _PER_HIRE + k
_PER_HIRE = 1 << 20
_BACKFILL = 0x5BD1E9955BD1E995  # a backfill's key: mix64(departed person's key ^ this)


class PoolRT:
    """A staff pool during one replication.

    Waiting items of all the stages it serves share one queue: a deque when every such stage is
    FIFO with equal ``pool_priority`` (the common, fast case), a heap otherwise. Entries carry the
    lead's token at enqueue time; an entry whose token has moved on (the lead reneged) is stale
    and skipped. Invariant: while a server is free and the pool is open, no valid entry waits.
    """

    def __init__(self, sim: Simulation, model: PoolModel, heap: bool) -> None:
        self.sim = sim
        self.env = sim.env
        self.model = model
        self.name = model.name
        self.calendar = WorkingCalendar.of(model.calendar)
        self.always = self.calendar.always_open
        self.heap = heap
        self.stage_heaps: dict[StageRT, list[Any]] = {}
        # deque of (lead, token, stage) in FIFO mode; in heap mode a list of placeholders, one
        # per entry in stage_heaps, so that its truthiness says whether anything may wait
        self.queue: Any = [] if heap else deque()
        self._seq = count()
        self.free: list[Server] = []
        self.servers: list[Server] = []
        self.busy = 0
        self.active = 0
        self.ramping = 0  # present staff still ramping up (0: skip choosing among free staff)
        # Busy and available time are measured on the working clock, so utilisation is "over
        # working hours": an item held overnight does not count as work. Busy time uses the
        # entry/exit-sum trick of monitor.Level (two additions per item); available time is
        # integrated at the rare headcount changes.
        self.busy_in = 0.0
        self.busy_out = 0.0
        self.busy0 = 0
        self.w0 = 0.0
        self.w_last = 0.0
        self.cap_area = 0.0
        # Saturation spells (every present staff member busy), for the active-period method.
        self.active_log: list[tuple[float, float]] | None = [] if sim.track_active else None
        self.saturated = False
        self.saturated_since = 0.0
        # Each person's time to attrition is keyed by who they are (a starting member, the
        # k-th person of the j-th planned hire, the backfill of someone), not drawn in order:
        # adding a hire in a variant then leaves everyone else's tenure as it was (CRN).
        self._attrition_key = sim.streams.key(f"pool.{model.name}.attrition")
        for i in range(model.headcount):
            self._add_server(0.0, None, i)
        for j, hire in enumerate(model.hires):
            keys = [_HIRE_KEYS + j * _PER_HIRE + k for k in range(hire.count)]
            self._at(hire.at, self._hire, (keys, hire.ramp))
        for at, n in model.departures:
            self._at(at, self._depart, n)
        if not self.always:
            self._schedule_opening(0.0)
        #: Nothing to adjust when work starts or ends: open around the clock, a fixed team at
        #: full productivity, no saturation log (stages then skip those checks).
        self.plain = (
            self.always
            and self.active_log is None
            and all(h.ramp is None for h in model.hires)
            and not model.departures
            and not model.attrition
        )

    # -- clocks and accounting ----------------------------------------------------------------
    def clock(self, now: float) -> float:
        """Working hours elapsed since time 0 (equals ``now`` for a 24/7 pool)."""
        return now if self.always else self.calendar.cumulative(now)

    def track_capacity(self, now: float) -> None:
        w = self.clock(now)
        self.cap_area += self.active * (w - self.w_last)
        self.w_last = w

    def reset(self, now: float) -> None:
        self.track_capacity(now)
        self.cap_area = 0.0
        self.busy_in = 0.0
        self.busy_out = 0.0
        self.busy0 = self.busy
        self.w0 = self.clock(now)

    def check_saturation(self, now: float) -> None:
        """Log the start/end of a spell where every present staff member is busy.

        A spell that resumes at the very instant it ended was never interrupted: a server that
        finishes and takes the next waiting item, a hire who starts on the queue at once, a
        leaver who finishes the last item in hand. It is reopened rather than logged as two
        spells, so an active period lasts as long as the pool really stays saturated."""
        saturated = self.active > 0 and self.busy >= self.active
        if saturated != self.saturated:
            self.saturated = saturated
            log: list[tuple[float, float]] = self.active_log  # type: ignore[assignment]
            if not saturated:
                log.append((self.saturated_since, now))
            elif log and log[-1][1] == now:
                self.saturated_since = log.pop()[0]
            else:
                self.saturated_since = now

    def active_periods(self, now: float) -> np.ndarray:
        """Saturated spells in the current window as an (n, 2) array; an open one ends at now."""
        spells = list(self.active_log or ())
        if self.saturated:
            spells.append((self.saturated_since, now))
        return np.asarray(spells, dtype=float).reshape(-1, 2)

    def busy_hours(self, now: float) -> float:
        """Working hours spent busy since the last reset."""
        return self.busy_out - self.busy_in + self.busy * self.clock(now) - self.busy0 * self.w0

    # -- queue ---------------------------------------------------------------------------------
    def enqueue(self, lead: Item, stage: StageRT) -> None:
        if self.heap:
            seq = next(self._seq)
            if stage.discipline == "priority":
                key = -(lead.value if stage.priority == "value" else lead.score)
            elif stage.discipline == "lifo":
                key = float(-seq)
            else:
                key = float(seq)
            heap = self.stage_heaps.get(stage)
            if heap is None:
                heap = self.stage_heaps[stage] = []
            heappush(heap, (key, seq, lead, lead.token, lead.t_arrive))
            self.queue.append(None)  # marks "something may be waiting" for release()
        else:
            self.queue.append((lead, lead.token, stage))

    def _pop_valid(self) -> tuple[Item, StageRT] | None:
        """The next item to serve, skipping stale entries (leads that reneged)."""
        queue = self.queue
        if not self.heap:
            while queue:
                lead, token, stage = queue.popleft()
                if lead.token == token:
                    return lead, stage
            return None
        # Each stage orders its own items (FIFO, LIFO or priority); across stages the pool
        # serves the highest pool_priority first, then the stage whose head waited longest.
        best: tuple[tuple[int, float], StageRT, list[Any]] | None = None
        for stage, heap in self.stage_heaps.items():
            while heap and heap[0][2].token != heap[0][3]:
                heappop(heap)
            if heap:
                rank = (stage.pool_priority, -heap[0][4])
                if best is None or rank > best[0]:
                    best = (rank, stage, heap)
        if best is None:
            queue.clear()
            return None
        _, stage, heap = best
        entry = heappop(heap)
        if queue:
            queue.pop()
        return entry[2], stage

    def dispatch(self, now: float) -> None:
        """Start waiting items while servers are free and the pool is open."""
        while self.free and self.is_open(now):
            nxt = self._pop_valid()
            if nxt is None:
                return
            lead, stage = nxt
            stage.start_from_queue(lead, self.take_free(now), now)

    def take_free(self, now: float) -> Server:
        """A free server for new work: the most productive one while some are still ramping
        up (new hires should not get work that an experienced rep is idle for)."""
        free = self.free
        if not self.ramping:
            return free.pop()
        best = max(range(len(free)), key=lambda i: free[i].productivity(now))
        server = free.pop(best)
        self.ramping = sum(1 for s in self.servers if s.active and s.ramp is not None)
        return server

    def release(self, server: Server, now: float) -> None:
        """A server finished an item: leave, take the next waiting item, or become free."""
        self.busy -= 1
        server.busy = False
        if self.plain:
            self.busy_out += now
        else:
            self.busy_out += self.clock(now)
            if self.active_log is not None:
                self.check_saturation(now)
            if server.leaving:
                self.track_capacity(now)
                server.active = False
                self.active -= 1
                if self.active_log is not None:
                    self.check_saturation(now)
                return
        queue = self.queue
        if queue and (self.always or self.calendar.is_open(now)):
            if self.heap:
                nxt = self._pop_valid()
                if nxt is not None:
                    nxt[1].start_from_queue(nxt[0], server, now)
                    return
            else:
                while queue:
                    lead: Item
                    stage: StageRT
                    lead, token, stage = queue.popleft()
                    if lead.token == token:
                        lead.token += 1
                        waiting = stage.queue
                        waiting.n -= 1
                        waiting.sum_out += now
                        stage.start(lead, server, now)
                        if stage.blocked:
                            stage.admit_blocked(now)  # the queue got shorter
                        return
        self.free.append(server)

    # -- calendar ------------------------------------------------------------------------------
    def is_open(self, now: float) -> bool:
        """Whether work may start at ``now`` (asked of the calendar, never cached: a job that
        ends exactly at closing time must not start the next one)."""
        return self.always or self.calendar.is_open(now)

    def _schedule_opening(self, now: float) -> None:
        """Schedule the next start of a shift strictly after ``now``."""
        after = self.calendar.next_close(now) if self.calendar.is_open(now) else now
        nxt = self.calendar.next_open(after) if math.isfinite(after) else math.inf
        if math.isfinite(nxt):
            self._at(nxt, self._opening, None)

    def _opening(self, ev: Wake) -> None:
        """A shift starts: waiting items can be worked again."""
        now = self.env._now
        self.dispatch(now)
        self._schedule_opening(now)

    # -- headcount -----------------------------------------------------------------------------
    def _at(self, when: float, callback: Any, payload: Any) -> None:
        ev = Wake(self.env, callback)
        ev.payload = payload
        self.env.wake(ev, max(when - self.env._now, 0.0))

    def _add_server(self, now: float, ramp: tuple[float, float] | None, key: int) -> None:
        self.track_capacity(now)
        server = Server(len(self.servers), now, ramp, self.env)
        server.key = key
        self.servers.append(server)
        if ramp is not None:
            self.ramping += 1
        self.active += 1
        self.free.append(server)
        if self.active_log is not None:
            self.check_saturation(now)
        if self.model.attrition:
            u = keyed_uniform(self._attrition_key, key, 0)
            self._at(now - math.log1p(-u) / self.model.attrition, self._attrite, server)

    def _hire(self, ev: Wake) -> None:
        keys, ramp = ev.payload
        now = self.env._now
        for key in keys:
            self._add_server(now, ramp, key)
        self.dispatch(now)

    def _depart(self, ev: Wake) -> None:
        n = ev.payload
        now = self.env._now
        for _ in range(n):
            candidates = [s for s in self.servers if s.active and not s.leaving]
            if not candidates:
                return
            free = next((s for s in candidates if not s.busy), None)
            self._remove(free or candidates[0], now)

    def _remove(self, server: Server, now: float) -> None:
        if server.busy:
            server.leaving = True  # finishes the item in hand first
            return
        self.track_capacity(now)
        server.active = False
        self.active -= 1
        self.free.remove(server)
        if self.active_log is not None:
            self.check_saturation(now)

    def _attrite(self, ev: Wake) -> None:
        server = ev.payload
        if not server.active or server.leaving:
            return
        now = self.env._now
        self._remove(server, now)
        if self.model.backfill_after is not None:
            self._at(now + self.model.backfill_after, self._hire,
                     ([mix64(server.key ^ _BACKFILL)], self.model.ramp))
