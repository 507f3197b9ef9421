"""Checks on the graph the routes draw: every stage reachable, every lead able to finish,
and sales stages (before 'won') kept apart from the delivery stages won deals enter."""

from __future__ import annotations

from collections.abc import Sequence

from revsim.errors import Problem
from revsim.scenario.model import (
    CHURNED,
    LIVE,
    NURTURE,
    OUTCOME_NAMES,
    WON,
    NurtureModel,
    SourceModel,
    StageModel,
)


def route_graph_problems(sources: Sequence[SourceModel], stages: Sequence[StageModel],
                         nurture: NurtureModel | None, onboarding: int | None,
                         ) -> tuple[tuple[int, ...], list[Problem]]:
    """The sales stages (reached from a source, not from onboarding) and every problem with
    the routes between stages."""
    problems: list[Problem] = []

    def fail(path: str, message: str) -> None:
        problems.append(Problem(path, message))

    edges: dict[int, set[int]] = {s.index: set() for s in stages}
    ends: dict[int, set[int]] = {s.index: set() for s in stages}
    for st in stages:
        for r in (st.routes, *st.routes_by_segment.values()):
            edges[st.index].update(t for t in r.targets if t >= 0)
            ends[st.index].update(t for t in r.targets if t < 0)
            if NURTURE in r.targets and nurture is not None:
                edges[st.index].add(nurture.to)
        if st.decay_outcome >= 0:
            edges[st.index].add(st.decay_outcome)

    def reach(starts: list[int]) -> set[int]:
        seen: set[int] = set()
        frontier = list(starts)
        while frontier:
            node = frontier.pop()
            if node not in seen:
                seen.add(node)
                frontier.extend(edges.get(node, ()))
        return seen

    sales = reach([s.to for s in sources if s.to >= 0])
    delivery = reach([onboarding]) if onboarding is not None else set()
    sales_stages = tuple(sorted(sales - delivery))
    names = {st.index: st.name for st in stages}
    for st in stages:
        if st.index not in sales and st.index not in delivery:
            fail(f"stages.{st.name}",
                      "no lead can reach this stage: no source or route leads to it")
    for idx in sorted(sales):
        for code in sorted(ends[idx] & {LIVE, CHURNED}, reverse=True):
            fix = ("set [deals] onboarding = \"STAGE\" and route there via 'won'"
                   if onboarding is None else "route sales stages to 'won' or 'lost'")
            fail(f"stages.{names[idx]}.routes.{OUTCOME_NAMES[code]}",
                      f"'{OUTCOME_NAMES[code]}' ends a won deal's delivery, but leads reach "
                      f"this stage before they are won; {fix}")
    # A lead must be able to finish: from every stage some path has to end in an outcome
    # (a closed loop of routes would keep its leads forever, at zero delay in no time).
    finishes = {i for i, e in ends.items() if e}
    for st in stages:
        if (st.patience_mode == "renege"
                or (st.patience_mode == "decay" and st.decay_outcome < 0)
                or (st.when_full == "lose" and (st.queue_limit is not None
                                                or st.wip_limit is not None))):
            finishes.add(st.index)
    grew = True
    while grew:
        before = len(finishes)
        finishes |= {i for i, out in edges.items() if out & finishes}
        grew = len(finishes) > before
    reported: set[frozenset[int]] = set()
    for idx in sorted((sales | delivery) - finishes):
        loop = frozenset(reach([idx]))
        if loop not in reported:
            reported.add(loop)
            where = ", ".join(sorted(names[i] for i in loop))
            fail(f"stages.{names[idx]}.routes",
                      f"leads that enter this stage can never finish: every route leads "
                      f"back into {where}; route some share to an outcome such as 'lost'")
    for idx in sorted(delivery):
        if WON in ends[idx]:
            fail(f"stages.{names[idx]}.routes.won",
                      "'won' ends a sale, but this stage delivers deals that were already "
                      "won; route to 'live' or 'churned'")
        if idx in sales:
            fail(f"stages.{names[idx]}",
                      "is both a sales stage (reached before 'won') and a delivery stage "
                      "(reached after it); use separate stages")
    return sales_stages, problems
