"""The sizes revsim refuses before it allocates anything, each limit once, with why it exists.

Every input (a scenario, a sweep file, a flag) is checked against these before a model is built
or a run starts, so a slip such as a headcount of 10^12, a grid of 10^9 points or a sampling
interval of 0 ends in a clear message instead of exhausting memory or time.
``docs/scenario-format.md`` lists them (:func:`table`, read by :mod:`revsim.scenario.reference`).
"""

from __future__ import annotations

from typing import NamedTuple

HOURS_PER_YEAR = 8766.0

MAX_INPUT_BYTES = 10 * 1024 * 1024
MAX_NESTING = 32
MAX_ECHO = 200  # characters of user input quoted in a message
YEARS = (1900, 2200)
MAX_HORIZON_YEARS = 50
MAX_DURATION_YEARS = 1_000
MAX_SAMPLES = 1_000_000
MAX_HEADCOUNT = 10_000
MAX_ATTRITION_PER_DAY = 1.0
MAX_LEADS = 50_000_000
MAX_COUNT = 1_000_000_000
MAX_PRIORITY = 1_000_000
MAX_CYCLES = 1_000
MAX_TERMS_DAYS = 3_650
MAX_AMOUNT = 1e13
MAX_REPLICATIONS = 100_000
MAX_POINTS = 100_000
MAX_TASKS = 10_000_000
MAX_WORKERS = 1_024
MAX_BATCHES = 10_000


def clip(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: a message quotes no more of the
    user's input than that, however long the input is."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Limit(NamedTuple):
    what: str
    value: str
    why: str


def table() -> list[Limit]:
    """Every limit with the reason for it, for the reference docs."""
    return [
        Limit("input file (scenario, sweep, mapping)", f"{MAX_INPUT_BYTES // 2**20} MiB, UTF-8 text",
              "read whole; real files are a few kB"),
        Limit("nesting of tables and arrays", f"{MAX_NESTING} levels",
              "a scenario needs about 6; deeper is a nesting bomb"),
        Limit("dates (start, hires, departures, holidays, bursts, date flags)",
              f"years {YEARS[0]}-{YEARS[1]}",
              "the run's end must stay inside too: calendar dates in the results end in 2262"),
        Limit("horizon", f"{MAX_HORIZON_YEARS} y", "of simulated time, also with --horizon"),
        Limit("any other duration (or a duration distribution's mean)",
              f"{MAX_DURATION_YEARS:,} y", "longer is a unit slip"),
        Limit("level samples per replication (horizon / sample_every)", f"{MAX_SAMPLES:,}",
              "each sample is kept; sample_every must be > 0"),
        Limit("headcount of a pool (at the start plus its hires)", f"{MAX_HEADCOUNT:,}",
              "each person is an object in the engine"),
        Limit("attrition", f"{MAX_ATTRITION_PER_DAY:g} per head per day",
              "each departure is an event"),
        Limit("leads per replication (rate x horizon + bursts)", f"{MAX_LEADS:,}",
              "each lead is an object and its arrival time is kept"),
        Limit("other counts (queue and WIP limits, a source's limit, a burst)",
              f"{MAX_COUNT:,}", "far above any real queue"),
        Limit("pool_priority", f"-{MAX_PRIORITY:,} to {MAX_PRIORITY:,}",
              "priorities are only compared"),
        Limit("nurture max_cycles", f"{MAX_CYCLES:,}", "each cycle is a visit"),
        Limit("payment terms", f"{MAX_TERMS_DAYS:,} days", "10 years"),
        Limit("money amounts (or a money distribution's mean); never negative, inf or NaN",
              f"{MAX_AMOUNT:.0e}", "sums of many stay exact to the cent"),
        Limit("replications of a point (-n, --max-replications, a sweep file)",
              f"{MAX_REPLICATIONS:,}", "each is kept in memory until summarised"),
        Limit("points of a sweep design", f"{MAX_POINTS:,}", "checked before the grid is built"),
        Limit("tasks of a sweep (points x replications)", f"{MAX_TASKS:,}",
              "the store keeps one entry per task"),
        Limit("worker processes (-j, --dask-local)", f"{MAX_WORKERS:,}",
              "each is a process on this machine"),
        Limit("batches of --batch-means", f"{MAX_BATCHES:,}", "each batch is a row"),
    ]
