"""Calibration benchmark: ``revsim fit`` on a canonical event log of about 1,000,000 events.

The log is synthesised with numpy (vectorised journeys: about 10 s per million events, most of
it writing the CSV; simulating a high-volume scenario with ``records=True`` and exporting it with
``RunResult.event_log()`` takes about 3x as long, ~33 s per million events). It holds a year of
leads from two sources and two segments: lead stages ``mql`` -> ``sql`` (disqualified on the
way), an opportunity (``opportunity_created`` with ``parent_id`` = the lead) through
``stage:demo`` and ``stage:proposal`` (with a loop back to demo) to ``closed_won`` /
``closed_lost``, and for won deals an invoice (``invoice_issued`` with a due date, then
``invoice_paid`` on time or late, ``invoice_written_off``, or still open). Stage durations are
lognormal, gamma, Weibull and exponential; events after the as-of time (the end of the year) are
not written, so open cases are right-censored. Resources (AEs) are on the opportunity events.

Each timed run is a fresh interpreter (imports excluded from the time) that does what
``revsim fit LOG --as-of ... -o scenario.toml`` does: read + validate the CSV, build journeys,
fit arrivals/routes/durations/payments, write the annotated TOML and load it back. It reports
the time of each part and its own peak RSS (``VmHWM``, which includes the interpreter and the
imported libraries; ``import_rss_mib`` in the JSON is the peak before the fit). The summary is
the median of the repeats.

    python benchmarks/fit_1m.py                      # 1,000,000 events, 3 runs
    python benchmarks/fit_1m.py --events 100000 --repeats 1   # smoke test
    python benchmarks/fit_1m.py --log big.csv --keep --profile  # keep the log; cProfile one run
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_DIR = Path(__file__).resolve().parent.parent
START = np.datetime64("2027-01-04T00:00:00", "s")  # a Monday
HORIZON_H = 52 * 168.0
TARGET_S = 60.0

# state -> (duration sampler name, routes); durations in hours
STAGES = {
    "mql": ("lognormal", {"sql": 0.6, "disqualified": 0.4}),
    "sql": ("gamma", {"opportunity": 0.7, "disqualified": 0.3}),
    "opportunity": ("exponential", {"demo": 0.8, "closed_lost": 0.2}),
    "demo": ("weibull", {"proposal": 0.6, "closed_lost": 0.4}),
    "proposal": ("lognormal2", {"demo": 0.15, "closed_won": 0.45, "closed_lost": 0.4}),
}
ACTIVITY = {"mql": "mql", "sql": "sql", "opportunity": "opportunity_created",
            "demo": "stage:demo", "proposal": "stage:proposal"}
LEAD_PHASE = {"lead_created", "mql", "sql", "disqualified"}
AES = 40


def _durations(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    if kind == "lognormal":
        return rng.lognormal(np.log(30.0), 0.9, n)
    if kind == "gamma":
        return rng.gamma(2.0, 36.0, n)
    if kind == "exponential":
        return rng.exponential(48.0, n)
    if kind == "weibull":
        return 240.0 * rng.weibull(1.4, n)
    return rng.lognormal(np.log(300.0), 0.7, n)  # lognormal2: proposals take ~2 weeks


def _journeys(rng: np.random.Generator, n_leads: int
              ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Events (lead index, activity, hours, extra columns) for ``n_leads`` journeys."""
    created = np.sort(rng.uniform(0.0, HORIZON_H, n_leads))
    lead = np.arange(n_leads)
    parts = [pd.DataFrame({"lead": lead, "activity": "lead_created", "t": created})]
    parts.append(pd.DataFrame({"lead": lead, "activity": "mql", "t": created}))
    ids, state, t = lead, np.full(n_leads, "mql", dtype=object), created.copy()
    won_ids, won_t = [], []
    for _ in range(60):  # the loop demo <-> proposal ends with probability 1
        if len(ids) == 0:
            break
        keep_ids, keep_state, keep_t = [], [], []
        for name, (kind, routes) in STAGES.items():
            here = state == name
            if not here.any():
                continue
            i, leave = ids[here], t[here] + _durations(rng, kind, int(here.sum()))
            targets = np.array(list(routes), dtype=object)
            nxt = targets[rng.choice(len(targets), len(i), p=list(routes.values()))]
            activity = np.array([ACTIVITY.get(x, x) for x in nxt], dtype=object)
            parts.append(pd.DataFrame({"lead": i, "activity": activity, "t": leave}))
            onward = np.isin(nxt, list(STAGES))
            keep_ids.append(i[onward])
            keep_state.append(nxt[onward])
            keep_t.append(leave[onward])
            won = nxt == "closed_won"
            won_ids.append(i[won])
            won_t.append(leave[won])
        ids, state, t = (np.concatenate(keep_ids), np.concatenate(keep_state),
                         np.concatenate(keep_t))
    events = pd.concat(parts, ignore_index=True)
    won_lead, won_time = np.concatenate(won_ids), np.concatenate(won_t)
    return events, won_lead, won_time


def _invoices(rng: np.random.Generator, won_lead: np.ndarray, won_time: np.ndarray,
              amount: np.ndarray) -> pd.DataFrame:
    n = len(won_lead)
    due = won_time + 30 * 24.0
    fate = rng.choice(3, n, p=[0.7, 0.25, 0.05])  # on time, late, written off
    paid_on_time = won_time + rng.uniform(0.2, 1.0, n) * 30 * 24.0
    paid_late = due + rng.exponential(20 * 24.0, n)
    written = won_time + 180 * 24.0
    end_t = np.where(fate == 0, paid_on_time, np.where(fate == 1, paid_late, written))
    end_a = np.where(fate == 2, "invoice_written_off", "invoice_paid")
    issued = pd.DataFrame({"lead": won_lead, "activity": "invoice_issued", "t": won_time,
                           "due": due, "inv_amount": amount[won_lead]})
    closed = pd.DataFrame({"lead": won_lead, "activity": end_a, "t": end_t, "due": due,
                           "inv_amount": amount[won_lead]})
    return pd.concat([issued, closed], ignore_index=True)


def _iso(hours: np.ndarray) -> np.ndarray:
    stamps = START + np.round(hours * 3600).astype("timedelta64[s]")
    return np.char.add(np.datetime_as_string(stamps, unit="s"), "+00:00")


def _frame(rng: np.random.Generator, n_leads: int) -> pd.DataFrame:
    """The canonical log of ``n_leads`` journeys, cut at the as-of time, in time order."""
    events, won_lead, won_time = _journeys(rng, n_leads)
    source = rng.choice(np.array(["inbound", "outbound"], dtype=object), n_leads, p=[0.7, 0.3])
    segment = rng.choice(np.array(["smb", "mid"], dtype=object), n_leads, p=[0.8, 0.2])
    amount = np.round(np.where(segment == "mid", 5.0, 1.0) * rng.lognormal(np.log(2000), 0.6,
                                                                          n_leads), 2)
    ae = rng.integers(0, AES, n_leads)
    inv = _invoices(rng, won_lead, won_time, amount)
    ev = pd.concat([events, inv], ignore_index=True)
    ev = ev[ev["t"] <= HORIZON_H]  # the extract is taken at the end of the year
    lead = ev["lead"].to_numpy()
    act = ev["activity"].to_numpy(dtype=object)
    lead_phase = np.isin(act, list(LEAD_PHASE))
    invoice = np.isin(act, ["invoice_issued", "invoice_written_off"])
    payment = act == "invoice_paid"
    opp = ~lead_phase & ~invoice & ~payment
    num = lead.astype(str)
    case = np.where(lead_phase, np.char.add("L", num),
                    np.where(opp, np.char.add("O", num), np.char.add("I", num)))
    parent = np.where(opp, np.char.add("L", num),
                      np.where(invoice | payment, np.char.add("O", num), ""))
    object_type = np.where(lead_phase, "lead", np.where(opp, "opportunity",
                                                        np.where(invoice, "invoice", "payment")))
    due = ev["due"].to_numpy(dtype=float)
    due_text = np.where(np.isnan(due) | ~(invoice | payment), "", _iso(np.nan_to_num(due)))
    amt = np.where(act == "closed_won", amount[lead],
                   np.where(invoice | payment, ev["inv_amount"].to_numpy(dtype=float), np.nan))
    frame = pd.DataFrame({
        "case_id": case, "activity": act, "timestamp": _iso(ev["t"].to_numpy()),
        "object_type": object_type, "parent_id": parent,
        "resource": np.where(opp, np.char.add("ae-", ae[lead].astype(str)), ""),
        "amount": amt, "due_date": due_text, "source": source[lead], "segment": segment[lead],
    })
    return frame.iloc[np.argsort(ev["t"].to_numpy(), kind="stable")]  # time order


def generate(path: Path, n_events: int = 1_000_000, seed: int = 1) -> dict:
    """Write a canonical log of about ``n_events`` events to ``path``; returns its description."""
    started = time.perf_counter()
    pilot = 20_000
    per_lead = len(_frame(np.random.default_rng(seed + 1), pilot)) / pilot
    frame = _frame(np.random.default_rng(seed), max(round(n_events / per_lead), 10))
    frame.to_csv(path, index=False)
    leads = frame.loc[frame["activity"] == "lead_created", "case_id"].nunique()
    return {"events": len(frame), "leads": int(leads),
            "cases": int(frame["case_id"].nunique()),
            "generate_s": time.perf_counter() - started,
            "size_mib": path.stat().st_size / 2**20}


AS_OF = str(START + np.timedelta64(int(HORIZON_H), "h")) + "+00:00"

CHILD = """
import json, resource, time
from pathlib import Path
import revsim
from revsim.calibrate.fit_log import read_log
from revsim.calibrate.derive import fit_log

def peak_rss_mib():
    # VmHWM: peak RSS of this process image. ru_maxrss would be wrong here: Linux carries the
    # parent's peak over fork + exec, and the parent held the generated log.
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

rss_import = peak_rss_mib()
t0 = time.perf_counter()
log = read_log({log!r}, as_of={as_of!r})
t1 = time.perf_counter()
fitted = fit_log(log)
t2 = time.perf_counter()
fitted.write({out!r})
revsim.load({out!r})  # `revsim fit` checks that the written file loads
t3 = time.perf_counter()
print(json.dumps({{
    "wall_s": t3 - t0, "read_validate_s": t1 - t0, "journeys_fits_s": t2 - t1,
    "toml_s": t3 - t2, "events": len(log.events), "cases": log.n_cases,
    "fits": {{k: (f.best, f.fallback) for k, f in fitted.fits.items()}},
    "peak_rss_mib": peak_rss_mib(), "import_rss_mib": rss_import,
}}))
"""


def run_child(log: Path, out: Path) -> dict:
    code = CHILD.format(log=str(log), as_of=AS_OF, out=str(out))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_DIR, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def profile(log: Path, out: Path, top: int = 25) -> str:
    import cProfile
    import io
    import pstats

    import revsim
    from revsim.calibrate.derive import fit_log
    from revsim.calibrate.fit_log import read_log

    prof = cProfile.Profile()
    prof.enable()
    fitted = fit_log(read_log(log, as_of=AS_OF))
    fitted.write(out)
    revsim.load(out)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log", type=Path, help="where to write the log (default: a temp file)")
    p.add_argument("--keep", action="store_true", help="keep the log and the fitted TOML")
    p.add_argument("--reuse", action="store_true", help="reuse --log if it exists")
    p.add_argument("--profile", action="store_true", help="also cProfile one run in-process")
    p.add_argument("--json", metavar="FILE", help="write the raw numbers to FILE")
    args = p.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="revsim_fit_1m_")
    default = Path.cwd() / "fit_1m_log.csv" if args.keep else Path(tmp.name) / "log_1m.csv"
    log = args.log or default
    out = log.with_suffix(".fitted.toml")
    if args.reuse and log.exists():
        info = {"events": sum(1 for _ in log.open()) - 1, "reused": True,
                "size_mib": log.stat().st_size / 2**20}
    else:
        print(f"generating ~{args.events:,} events ...", file=sys.stderr, flush=True)
        info = generate(log, args.events, args.seed)
    print(f"log: {log} ({info['events']:,} events, {info['size_mib']:.0f} MiB"
          + (f", generated in {info['generate_s']:.1f} s" if "generate_s" in info else "")
          + ")", file=sys.stderr)

    runs = []
    for rep in range(args.repeats):
        print(f"[{rep + 1}/{args.repeats}] revsim fit ...", end=" ", file=sys.stderr, flush=True)
        r = run_child(log, out)
        runs.append(r)
        print(f"{r['wall_s']:.1f} s (read+validate {r['read_validate_s']:.1f}, journeys+fits "
              f"{r['journeys_fits_s']:.1f}, TOML {r['toml_s']:.1f}); peak RSS "
              f"{r['peak_rss_mib']:.0f} MiB", file=sys.stderr)

    walls = [r["wall_s"] for r in runs]
    med = statistics.median(walls)
    part = {k: statistics.median(r[k] for r in runs)
            for k in ("read_validate_s", "journeys_fits_s", "toml_s")}
    peak = max(r["peak_rss_mib"] for r in runs)
    print(f"\nrevsim fit, {runs[0]['events']:,} events ({runs[0]['cases']:,} cases), "
          f"{args.repeats} runs, Python {platform.python_version()}, {platform.machine()}")
    print("| events | median s | min s | max s | read+validate s | journeys+fits s | TOML s "
          "| peak RSS MiB | target |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {runs[0]['events']:,} | {med:.1f} | {min(walls):.1f} | {max(walls):.1f} "
          f"| {part['read_validate_s']:.1f} | {part['journeys_fits_s']:.1f} "
          f"| {part['toml_s']:.1f} | {peak:.0f} "
          f"| {'met' if med < TARGET_S else 'MISSED'} (< {TARGET_S:.0f} s) |")
    print("fits: " + ", ".join(f"{k}={b}{'/' + f if f else ''}"
                               for k, (b, f) in runs[0]["fits"].items()))
    if args.profile:
        print("\n" + profile(log, out))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "log": info, "runs": runs, "median_s": med, "parts_median_s": part,
            "peak_rss_mib": peak, "python": platform.python_version(),
            "platform": platform.platform()}, indent=2) + "\n")
    if args.keep:
        print(f"kept {log} and {out}", file=sys.stderr)
    else:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
