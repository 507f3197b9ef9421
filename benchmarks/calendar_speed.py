"""Speed of WorkingCalendar.add_working_time, the calendar call on every staffed service.

A weekday 09:00-17:00 calendar with a holiday; 20,000 start times spread over ~2.3 years,
13.7 working hours each (so most calls cross nights and weekends). Prints the median time per
call over interleaved repeats; a few microseconds is expected (interpreted or compiled engine).
Its correctness is tested in tests/test_calendar.py.

    python benchmarks/calendar_speed.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

import revsim.engine
from revsim.engine.calendar import WorkingCalendar


def per_call_seconds() -> float:
    cal = WorkingCalendar(date(2025, 1, 6), range(5), [(9, 17)], holidays=[date(2025, 12, 25)])
    ts = [(k * 7.31) % 20_000 for k in range(20_000)]
    began = time.perf_counter()
    for t in ts:
        cal.add_working_time(t, 13.7)
    return (time.perf_counter() - began) / len(ts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times = [per_call_seconds() for _ in range(args.repeats)]
    engine = "compiled" if revsim.engine.COMPILED else "interpreted"
    print(f"add_working_time ({engine} engine): median {statistics.median(times) * 1e6:.2f} us "
          f"per call (min {min(times) * 1e6:.2f}, max {max(times) * 1e6:.2f}; "
          f"{args.repeats} repeats of 20,000 calls)")


if __name__ == "__main__":
    main()
