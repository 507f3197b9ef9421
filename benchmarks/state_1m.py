"""State benchmark: ``revsim state`` on a canonical event log of about 1,000,000 events.

The log is the one benchmarks/fit_1m.py synthesises (a year of leads through mql, sql, an
opportunity, demo and proposal to won or lost, invoices for won deals; see that file), written
once. Each timed run is a fresh interpreter (imports excluded from the time) that does what
``revsim state LOG --as-of ... --scenario S -o FOLDER`` does: read + validate the CSV, cut it at
the as-of time, build the journeys, the open items, invoices and customers, check the snapshot
against the scenario, and write the folder. Two as-of times are measured: mid-year (half the
log is after it and is cut away) and the end of the year (the whole log). The target is 30 s.

    python benchmarks/state_1m.py                       # 1,000,000 events, 3 runs
    python benchmarks/state_1m.py --events 100000 --repeats 1   # smoke test
    python benchmarks/state_1m.py --log big.csv --keep --reuse  # keep and reuse the log
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_1m import HORIZON_H, START, generate  # noqa: E402 - the log generator beside this file

REPO_DIR = Path(__file__).resolve().parent.parent
TARGET_S = 30.0
AS_OF = {
    "mid-year": str(START + np.timedelta64(int(HORIZON_H / 2), "h")) + "+00:00",
    "year end": str(START + np.timedelta64(int(HORIZON_H), "h")) + "+00:00",
}

SCENARIO = """\
[scenario]
name = "state benchmark"
start = 2027-01-04
horizon = "52 w"

[segments.smb]
value = { dist = "lognormal", median = 2000, p90 = 4400 }
[segments.mid]
value = { dist = "lognormal", median = 10000, p90 = 22000 }

[sources.inbound]
rate = "700/w"
to = "mql"
segments = { smb = 0.8, mid = 0.2 }
[sources.outbound]
rate = "300/w"
to = "mql"
segments = { smb = 0.8, mid = 0.2 }

[pools.ae]
headcount = 40

[stages.mql]
event = "mql"
delay = "30 h"
routes = { sql = 0.6, disqualified = 0.4 }
[stages.sql]
event = "sql"
delay = "72 h"
routes = { opportunity = 0.7, disqualified = 0.3 }
[stages.opportunity]
event = "opportunity_created"
delay = "48 h"
routes = { demo = 0.8, lost = 0.2 }
[stages.demo]
pool = "ae"
work = "1 h"
delay = "9 d"
patience = { on_expiry = "renege", after = { dist = "exponential", mean = "20 d" } }
routes = { proposal = 0.6, lost = 0.4 }
[stages.proposal]
pool = "ae"
work = "2 h"
delay = "12 d"
routes = { demo = 0.15, won = 0.45, lost = 0.4 }

[deals.contract]
type = "subscription"
term = "12 mo"
billing = "annual_advance"
service_start = "signature"

[payment]
on_time = 0.7
late = 0.25
never = 0.05
lateness = { dist = "exponential", mean = "20 d" }
"""

CHILD = """
import json, time
from revsim.state_api import build_state
from revsim.state.files import write_snapshot
t0, c0 = time.perf_counter(), time.process_time()
snap = build_state({log!r}, scenario={scenario!r}, as_of={as_of!r})
t1 = time.perf_counter()
write_snapshot(snap, {out!r})
t2 = time.perf_counter()
print(json.dumps({{"wall_s": t2 - t0, "cpu_s": time.process_time() - c0,
                  "build_s": t1 - t0, "write_s": t2 - t1,
                  "items": len(snap.items), "invoices": len(snap.invoices),
                  "customers": len(snap.customers), "dead": sum(snap.dead.values()),
                  "events_used": int(snap.provenance["events_used"])}}))
"""


def run_child(log: Path, scenario: Path, as_of: str, out: Path) -> dict:
    code = CHILD.format(log=str(log), scenario=str(scenario), as_of=as_of, out=str(out))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log", type=Path, help="where to write the log (default: a temp file)")
    p.add_argument("--keep", action="store_true", help="keep the log")
    p.add_argument("--reuse", action="store_true", help="reuse --log if it exists")
    p.add_argument("--json", metavar="FILE", help="write the raw numbers to FILE")
    args = p.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="revsim_state_1m_")
    work = Path(tmp.name)
    log = args.log or (Path.cwd() / "state_1m_log.csv" if args.keep else work / "log_1m.csv")
    if not (args.reuse and log.exists()):
        print(f"generating ~{args.events:,} events ...", file=sys.stderr, flush=True)
        generate(log, args.events, args.seed)
    scenario = work / "scenario.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")

    results: dict[str, list[dict]] = {name: [] for name in AS_OF}
    for rep in range(args.repeats):
        for name, as_of in AS_OF.items():  # interleaved, so load on the machine hits both
            r = run_child(log, scenario, as_of, work / f"state-{rep}")
            results[name].append(r)
            print(f"[{rep + 1}/{args.repeats}] {name}: {r['wall_s']:.1f} s (build "
                  f"{r['build_s']:.1f}, write {r['write_s']:.1f}; CPU {r['cpu_s']:.1f} s)",
                  file=sys.stderr, flush=True)

    print(f"\nrevsim state, log of {log.stat().st_size / 2**20:.0f} MiB, {args.repeats} runs, "
          f"Python {platform.python_version()}, {platform.machine()}")
    print("| as of | events used | open items | invoices | customers | dead | median s | min s "
          "| max s | CPU s | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, runs in results.items():
        walls = [r["wall_s"] for r in runs]
        med = statistics.median(walls)
        r = runs[0]
        print(f"| {name} | {r['events_used']:,} | {r['items']:,} | {r['invoices']:,} "
              f"| {r['customers']:,} | {r['dead']:,} | {med:.1f} | {min(walls):.1f} "
              f"| {max(walls):.1f} | {statistics.median(x['cpu_s'] for x in runs):.1f} "
              f"| {'met' if med < TARGET_S else 'MISSED'} "
              f"(< {TARGET_S:.0f} s) |")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": results, "python":
                                               platform.python_version()}, indent=2) + "\n")
    if args.keep:
        print(f"kept {log}", file=sys.stderr)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
