"""The compiled engine (mypyc, see setup.py) gives exactly the interpreted engine's results.

Both run in fresh interpreters: one imports revsim as installed (compiled where the install could
compile it), the other a copy of the package's Python sources only. Their per-replication tables
must agree to the last bit, on the shipped scenarios and on a small scenario that uses the
features the shipped ones do not (priority, LIFO, blocking, losing, reneging, route delays).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import SCENARIOS, scenario_dict, write_toml

import revsim
import revsim.engine

CHILD = """
import json, sys
import revsim, revsim.engine
out = {"compiled": revsim.engine.COMPILED, "tables": {}}
for path in sys.argv[1:]:
    sc = revsim.load(path)
    res = sc.run(replications=2, seed=11, horizon=sc.model.warmup + 6 * 168.0, records=True)
    out["tables"][path] = [
        res.summary.to_csv(index=False, float_format="%.17g"),
        res.visits.to_csv(index=False, float_format="%.17g"),
    ]
print(json.dumps(out))
"""


def feature_scenario() -> dict:
    office = {"days": ["mon-fri"], "hours": ["09:00-17:00"]}
    exp = {"dist": "exponential", "mean": "1 h"}
    data = scenario_dict({
        "scenario": {"horizon": "6 w"},
        "sources": {
            "web": {"rate": "60/w", "to": "qualify",
                    "value": {"dist": "lognormal", "median": "20k", "p90": "80k"}},
            "events": {"rate": "10/w", "to": "triage"},
        },
        "calendars": {"office": office},
        "pools": {"sdr": {"headcount": 1, "calendar": "office"}, "ae": {"headcount": 1},
                  "ops": {"headcount": 1}},
        "stages": {
            "qualify": {"pool": "sdr", "work": exp, "discipline": "priority", "priority": "value",
                        "patience": {"on_expiry": "renege", "after": "6 h"},
                        "routes": {"demo": 0.6, "lost": 0.4}},
            "triage": {"pool": "ops", "work": exp, "discipline": "lifo", "queue_limit": 2,
                       "when_full": "lose", "routes": {"demo": 0.5, "disqualified": 0.5}},
            "demo": {"pool": "ae", "work": {"dist": "exponential", "mean": "2 h"}, "wip_limit": 2,
                     "when_full": "block", "delay": "1 d",
                     "delay_by_route": {"won": "3 d"}, "routes": {"won": 0.3, "lost": 0.7}},
        },
    })
    del data["pools"]["staff"], data["stages"]["work"]
    return data


def run_child(paths: list[Path], *, pythonpath: Path | None, cwd: Path) -> dict:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.run([sys.executable, "-c", CHILD, *map(str, paths)], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_compiled_and_interpreted_engines_agree_exactly(tmp_path: Path) -> None:
    paths = sorted(SCENARIOS.glob("*.toml"))
    features = write_toml(tmp_path / "features.toml", feature_scenario())
    revsim.load(features)  # a valid scenario, or the comparison would prove nothing
    paths.append(features)

    source = tmp_path / "interpreted"
    package = Path(revsim.__file__).parent
    shutil.copytree(package, source / "revsim",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))

    installed = run_child(paths, pythonpath=None, cwd=tmp_path)
    interpreted = run_child(paths, pythonpath=source, cwd=tmp_path)
    assert installed["compiled"] == revsim.engine.COMPILED
    assert interpreted["compiled"] is False
    for path in paths:
        for name, a, b in zip(("summary", "visits"), installed["tables"][str(path)],
                              interpreted["tables"][str(path)], strict=True):
            assert a.count("\n") > 2, f"{path.name}: empty {name} table"
            assert a == b, f"{path.name}: the {name} tables differ"

