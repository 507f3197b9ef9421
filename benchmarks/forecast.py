"""Forecast speed: one quarter by week from a state of 5,000 open deals and 2,000 open invoices,
new arrivals per scenarios/saas_sales_led.toml, 200 replications on 2 workers.

Two measurements, interleaved round-robin over the repeats (medians reported):

  process     the whole command, `python -m revsim forecast ... -n 200 -j 2 -q` (start-up,
              imports, reading the state, the worker pool, the replications, the table)
  in-process  `Scenario.forecast(...)` in a warm interpreter (the state already read)

The state is synthetic but shaped like a real pipeline: deals spread over the sales stages
(more early than late) with ages that grow along the funnel, amounts from the segments'
distributions, a few hundred live contracts; invoices issued over the last four months with
the reminders their age implies. It is written once to a temporary folder.

    python benchmarks/forecast.py [--repeats 3] [--replications 200] [--jobs 2] [--json out.json]

Target: under 20 s for the whole process on 2 cores with the compiled engine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
SCENARIO = REPO_DIR / "scenarios" / "saas_sales_led.toml"
AS_OF = dt.datetime(2027, 1, 4)
UNTIL = "2027-04-04"  # thirteen weeks
# (stage, share of the open deals, typical days in the stage)
STAGES = (("qualify", 0.04, 0.5), ("prospect", 0.02, 0.5), ("discovery", 0.22, 5),
          ("demo", 0.26, 12), ("proposal", 0.20, 15), ("negotiation", 0.14, 10),
          ("legal", 0.08, 7), ("onboarding", 0.04, 25))
SEGMENTS = (("smb", 0.55, 12000), ("mid", 0.35, 40000), ("enterprise", 0.10, 140000))


def synthetic_state(deals: int = 5000, invoices: int = 2000, customers: int = 800,
                    seed: int = 1):
    """A snapshot of the shape described above (a local generator: no global random state)."""
    from revsim.state.snapshot import Customer, OpenInvoice, OpenItem, Snapshot

    rng = np.random.default_rng(seed)
    day = dt.timedelta(days=1)
    names = [s for s, _, _ in STAGES]
    shares = np.array([p for _, p, _ in STAGES])
    stage_of = rng.choice(len(STAGES), size=deals, p=shares / shares.sum())
    seg_of = rng.choice(len(SEGMENTS), size=deals, p=[p for _, p, _ in SEGMENTS])
    items = []
    for i, (s, g) in enumerate(zip(stage_of, seg_of, strict=True)):
        in_stage = float(rng.exponential(STAGES[s][2]))
        before = float(rng.exponential(8.0 * s + 1.0))
        amount = float(SEGMENTS[g][2] * rng.lognormal(0.0, 0.5))
        status = "waiting" if names[s] in ("qualify", "prospect") else ""
        items.append(OpenItem(id=f"D{i}", stage=names[s], entered_stage=AS_OF - in_stage * day,
                              created=AS_OF - (in_stage + before) * day, amount=round(amount, 2),
                              segment=SEGMENTS[g][0], status=status))
    bills = []
    for j in range(invoices):
        g = int(rng.choice(len(SEGMENTS), p=[p for _, p, _ in SEGMENTS]))
        net = 60 if SEGMENTS[g][0] == "enterprise" else 30
        age = int(rng.integers(0, 120))
        issued = (AS_OF - age * day).date()
        past_due = age - net
        sent = sum(1 for r in (1, 7, 14, 30) if past_due >= r)
        bills.append(OpenInvoice(id=f"I{j}", issued=issued, due=issued + net * day,
                                 outstanding=round(float(SEGMENTS[g][2] * rng.lognormal(0, .5)), 2),
                                 dunning_step=sent, segment=SEGMENTS[g][0]))
    live = []
    for k in range(customers):
        g = int(rng.choice(len(SEGMENTS), p=[p for _, p, _ in SEGMENTS]))
        renews = (AS_OF + int(rng.integers(1, 366)) * day).date()
        live.append(Customer(id=f"C{k}", start=renews - 365 * day, term_months=12,
                             next_renewal=renews, arr=float(SEGMENTS[g][2]), segment=SEGMENTS[g][0]))
    return Snapshot(AS_OF, tuple(items), tuple(bills), tuple(live))


def whole_process(state: Path, replications: int, jobs: int) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "revsim", "forecast", str(SCENARIO), "--state",
                    str(state), "--until", UNTIL, "--by", "week", "-n", str(replications),
                    "-j", str(jobs), "-q", "--no-progress"], cwd=REPO_DIR, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def in_process(sc, snapshot, replications: int, jobs: int) -> float:
    started = time.perf_counter()
    sc.forecast(snapshot, UNTIL, "week", replications=replications, jobs=jobs, progress=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import revsim
    from revsim.engine import COMPILED
    from revsim.state.files import write_snapshot

    snapshot = synthetic_state()
    sc = revsim.load(SCENARIO)
    times: dict[str, list[float]] = {"process": [], "in-process": []}
    with tempfile.TemporaryDirectory() as tmp:
        write_snapshot(snapshot, Path(tmp) / "state")
        for r in range(args.repeats):
            order = ["process", "in-process"] if r % 2 == 0 else ["in-process", "process"]
            for what in order:
                t = (whole_process(Path(tmp) / "state", args.replications, args.jobs)
                     if what == "process" else
                     in_process(sc, snapshot, args.replications, args.jobs))
                times[what].append(t)
                print(f"repeat {r + 1}: {what:<10} {t:6.1f} s", flush=True)
    engine = "compiled" if COMPILED else "interpreted"
    print(f"\n{len(snapshot.items)} open deals, {len(snapshot.invoices)} open invoices, "
          f"{len(snapshot.customers)} live contracts; 13 weeks by week; {args.replications} "
          f"replications, -j {args.jobs}; {engine} engine, Python {platform.python_version()}")
    for what, ts in times.items():
        print(f"  {what:<10} median {statistics.median(ts):6.1f} s  (min {min(ts):.1f}, "
              f"max {max(ts):.1f})")
    if args.json:
        args.json.write_text(json.dumps({"engine": engine, "replications": args.replications,
                                         "jobs": args.jobs, "times_s": times}, indent=2) + "\n")


if __name__ == "__main__":
    main()
