"""A snapshot in a few plain lines: what is open per stage, receivables, customers, staff load,
and what was left out and why."""

from __future__ import annotations

from collections import Counter

from revsim.state.snapshot import Snapshot


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def describe(snapshot: Snapshot) -> str:
    """The summary ``revsim state`` prints."""
    lines = [f"state as of {snapshot.as_of:%Y-%m-%d %H:%M}: "
             f"{_count(len(snapshot.items), 'open item')}"]
    for stage, n in sorted(Counter(i.stage for i in snapshot.items).items()):
        statuses = Counter(i.status for i in snapshot.items if i.stage == stage)
        known = ", ".join(f"{statuses[s]:,} {s.replace('_', ' ')}" for s in ("waiting", "in_work")
                          if statuses[s])
        lines.append(f"  {stage}: {n:,}" + (f" ({known})" if known else ""))
    outstanding = sum(i.outstanding for i in snapshot.invoices)
    overdue = sum(1 for i in snapshot.invoices if i.due < snapshot.as_of.date())
    lines.append(f"open invoices: {len(snapshot.invoices):,} ({overdue:,} overdue), "
                 f"outstanding {outstanding:,.2f}")
    arr = sum(c.arr for c in snapshot.customers)
    lines.append(f"customers with live contracts: {len(snapshot.customers):,}, ARR {arr:,.2f}")
    for pool in snapshot.pools:
        lines.append(f"pool {pool.pool}: {pool.wip:,} in work, {pool.queue:,} waiting")
    if snapshot.dead:
        lines.append("left out (open in the log, treated as dead):")
        lines += [f"  {n:,} {reason}" for reason, n in sorted(snapshot.dead.items())]
    else:
        lines.append("left out: none")
    if snapshot.skipped:
        lines.append("log rows skipped: " + ", ".join(f"{n:,} {reason}" for reason, n in
                                                      snapshot.skipped.items()))
    return "\n".join(lines)
