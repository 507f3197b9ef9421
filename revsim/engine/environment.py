"""A SimPy environment with a leaner event loop for the engine's numeric horizons.

SimPy's ``Environment.run`` calls ``step()`` once per event inside a try block; the engine
processes a few events per lead, so that call is a sizeable share of its run time. Like SimPy's
own ``RealtimeEnvironment``, this subclass changes how the loop is driven, not what an event is:
same queue, same events, same callbacks, same ordering (time, priority, insertion order).
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.events import Event

from revsim.engine.entities import NORMAL, Wake


class StopRequest:
    """A request to stop a run, set from outside the engine (a Ctrl-C handler, say).

    The event loop checks it between events and raises ``KeyboardInterrupt`` there. A
    KeyboardInterrupt raised by Python's own handler lands wherever the signal happens to be
    noticed, which in the compiled engine can be mid-operation and abort the process.
    """

    __slots__ = ("requested",)

    def __init__(self) -> None:
        self.requested = False


class Environment(simpy.Environment):
    """``simpy.Environment`` whose ``run(until=number)`` inlines the stepping loop."""

    def __init__(self, initial_time: float = 0.0, stop: StopRequest | None = None) -> None:
        super().__init__(initial_time)
        self.stop = stop if stop is not None else StopRequest()
        self._next_eid = self._eid.__next__
        #: The event heap and id counter, exposed for the engine's hottest call sites, which
        #: push (time, priority, id, event) entries directly instead of calling schedule().
        self.heap: list[Any] = self._queue
        self.next_eid = self._next_eid
        #: End of the current ``run`` (inf outside one). A source may move ``_now`` forward
        #: itself to handle a run of pre-computed arrivals back to back, but only to a time
        #: before every pending event and before ``until`` (see ``SourceRT._arrive``).
        self.until = float("inf")

    def wake(self, event: Wake, delay: float) -> None:
        """Schedule ``event`` (already triggered) ``delay`` hours from now, normal priority."""
        heappush(self.heap, (self._now + delay, NORMAL, self._next_eid(), event))

    def run(self, until: Any = None) -> Any:
        if until is None or isinstance(until, Event):
            return super().run(until)
        at = float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        self.until = at
        queue = self.heap
        pop = heappop
        stop = self.stop
        # Events at exactly ``at`` are left unprocessed, as with SimPy's urgent "until" event.
        while queue and queue[0][0] < at:
            if stop.requested:
                raise KeyboardInterrupt
            self._now, _, _, event = pop(queue)
            if type(event) is Wake:  # the engine's own events (all of them, in practice)
                wake: Wake = event
                todo = wake.callbacks
                wake.callbacks = None
                for callback in todo:  # type: ignore[union-attr]
                    callback(wake)
                continue
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
        self._now = at
        return None
