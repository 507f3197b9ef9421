"""M/M/10 benchmark harness: idiomatic SimPy vs Ciw vs revsim (plus hand-optimised SimPy).

Every run happens in a fresh interpreter. The child times only the model run (interpreter start-up
and module imports excluded) and reports its own peak RSS. Implementations are interleaved
round-robin so machine noise hits them all alike; the summary uses medians.

    python benchmarks/run_mm10.py [--repeats 5] [--quick] [--only simpy,ciw] [--json out.json]

``simpy_fast`` is a special-purpose script, not a baseline for the targets: it shows how close
revsim comes to the floor of SimPy's event loop for this workload.
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
IMPLEMENTATIONS = {
    "simpy": "mm10_simpy",
    "ciw": "mm10_ciw",
    "revsim": "mm10_revsim",
    "simpy_fast": "mm10_simpy_fast",
}
ARRIVAL_RATE, SERVICE_RATE, SERVERS = 9.0, 1.0, 10

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {bench_dir!r})
import {module} as model
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
out = model.run({n_arrivals}, {seed})
out["wall_s"] = time.perf_counter() - t0
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["import_rss_mib"] = rss_import / 1024
print(json.dumps(out))
"""


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue Wq of an M/M/c queue (Erlang C)."""
    a = lam / mu
    term, below_c = 1.0, 0.0
    for k in range(c):  # sum of a^k/k! for k < c; term ends as a^c/c!
        below_c += term
        term *= a / (k + 1)
    tail = term * c / (c - a)
    return tail / (below_c + tail) / (c * mu - lam)


def run_child(module: str, n_arrivals: int, seed: int) -> dict:
    code = CHILD.format(bench_dir=str(BENCH_DIR), module=module, n_arrivals=n_arrivals, seed=seed)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_DIR, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
        raise RuntimeError(lines[-1])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    return {
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        "mean_wait_h": statistics.median(r["mean_wait_h"] for r in runs),
        "n": runs[0]["n"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="runs per implementation (default 5)")
    p.add_argument("--quick", action="store_true", help="20,000 arrivals instead of 200,000")
    p.add_argument("--only", default=",".join(IMPLEMENTATIONS), help="e.g. simpy,ciw")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", metavar="FILE", help="write the raw numbers to FILE")
    args = p.parse_args(argv)

    names = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(names) - set(IMPLEMENTATIONS))
    if unknown or not names:
        p.error(f"--only: unknown {unknown}; choose from {', '.join(IMPLEMENTATIONS)}")
    n_arrivals = 20_000 if args.quick else 200_000
    wq = erlang_c_wait(ARRIVAL_RATE, SERVICE_RATE, SERVERS)

    runs: dict[str, list[dict]] = {name: [] for name in names}
    errors: dict[str, str] = {}
    for rep in range(args.repeats):
        shift = rep % len(names)  # rotate the order too, so no implementation always runs first
        for name in names[shift:] + names[:shift]:
            if name in errors:
                continue
            print(f"[{rep + 1}/{args.repeats}] {name} ...", end=" ", file=sys.stderr, flush=True)
            try:
                out = run_child(IMPLEMENTATIONS[name], n_arrivals, args.seed)
            except RuntimeError as exc:
                errors[name] = str(exc)
                print("failed", file=sys.stderr)
                continue
            runs[name].append(out)
            print(f"{out['wall_s']:.2f} s", file=sys.stderr)

    summary = {name: summarise(r) for name, r in runs.items() if r}
    print(
        f"\nM/M/{SERVERS}, lambda = {ARRIVAL_RATE:g}/h, mu = {SERVICE_RATE:g}/h, "
        f"{n_arrivals:,} arrivals, seed {args.seed}, {args.repeats} repeats, "
        f"Python {platform.python_version()}"
    )
    print(f"Erlang C: Wq = {wq:.4f} h, W = {wq + 1 / SERVICE_RATE:.4f} h\n")
    print(
        "| implementation | customers | median s | min s | max s | peak RSS MiB "
        "| mean wait h | vs Erlang C |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        if name in summary:
            s = summary[name]
            print(
                f"| {name} | {s['n']:,} | {s['median_s']:.2f} | {s['min_s']:.2f} "
                f"| {s['max_s']:.2f} | {s['peak_rss_mib']:.0f} | {s['mean_wait_h']:.4f} "
                f"| {100 * (s['mean_wait_h'] / wq - 1):+.1f} % |"
            )
    for name, err in errors.items():
        print(f"\n{name}: not available ({err})")

    ratios = {}
    if "revsim" in summary:
        for name in ("simpy", "ciw", "simpy_fast"):
            if name in summary:
                ratios[f"{name}/revsim"] = summary[name]["median_s"] / summary["revsim"]["median_s"]
    if ratios:
        print(
            "\nSpeed-up of revsim (ratio of medians): "
            + ", ".join(f"{k} = {v:.1f}x" for k, v in ratios.items())
        )

    if args.json:
        raw = {
            "config": {
                "n_arrivals": n_arrivals,
                "seed": args.seed,
                "repeats": args.repeats,
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "erlang_c": {"wq_h": wq, "w_h": wq + 1 / SERVICE_RATE},
            "runs": runs,
            "summary": summary,
            "errors": errors,
            "ratios": ratios,
        }
        Path(args.json).write_text(json.dumps(raw, indent=2) + "\n")
    return 0 if summary else 1


if __name__ == "__main__":
    sys.exit(main())
