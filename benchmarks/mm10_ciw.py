"""M/M/10 in Ciw 3 (hours as the time unit)."""

import ciw


def run(n_arrivals: int = 200_000, seed: int = 1) -> dict:
    # ciw.seed() seeds Python's global random state. That is Ciw's own API and acceptable here only
    # because this file is a benchmark baseline; revsim itself never uses global random state.
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(9)],
        service_distributions=[ciw.dists.Exponential(1)],
        number_of_servers=[10],
    )
    sim = ciw.Simulation(network)
    # "Complete" runs until n_arrivals customers have finished service, so exactly as many waits
    # are recorded as in the SimPy and revsim models ("Arrive" would stop with ~15 still inside;
    # either way the work differs by < 0.01 %).
    sim.simulate_until_max_customers(n_arrivals, method="Complete")
    records = [r for r in sim.get_all_records() if r.record_type == "service"]
    n = len(records)
    return {
        "mean_wait_h": sum(r.waiting_time for r in records) / n,
        "mean_system_h": sum(r.service_end_date - r.arrival_date for r in records) / n,
        "n": n,
    }


if __name__ == "__main__":
    print(run())
