"""Parameter sweeps: designs, executors (serial, process pool, Dask), resumable results."""

from revsim.sweep.design import Param, Point, grid, latin_hypercube, parse_param, variants
from revsim.sweep.runner import SweepError, SweepSpec
from revsim.sweep.sweep_result import SweepResult, run_sweep

__all__ = ["Param", "Point", "SweepError", "SweepResult", "SweepSpec", "grid",
           "latin_hypercube", "parse_param", "run_sweep", "variants"]
