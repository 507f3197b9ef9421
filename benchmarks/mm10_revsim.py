"""M/M/10 as a revsim scenario."""

from string import Template

import revsim

# 200,000 arrivals at 9/h take about 22,200 h (2.5 y), so the 4 y horizon lets every customer
# finish. `done` is a terminal outcome.
SCENARIO = Template("""
[scenario]
name = "M/M/10 benchmark"
start = 2027-01-04
horizon = "4 y"

[sources.customers]
rate = "9/h"
to = "serve"
limit = $limit

[pools.servers]
headcount = 10

[stages.serve]
pool = "servers"
work = { dist = "exponential", mean = "1 h" }
routes = { done = 1.0 }
""")


def run(n_arrivals: int = 200_000, seed: int = 1) -> dict:
    sc = revsim.loads(SCENARIO.substitute(limit=n_arrivals))
    res = sc.run(replications=1, seed=seed, records=False)
    wait = res.kpi("wait_mean", "stage", "serve")
    served = res.kpi("arrivals", "stage", "serve")
    return {"mean_wait_h": float(wait["mean"]), "n": int(served["mean"])}


if __name__ == "__main__":
    print(run())
