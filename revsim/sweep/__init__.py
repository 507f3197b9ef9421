"""Parameter sweeps: designs of points, run on the experiment core, resumable results."""

from revsim.sweep.design import Param, Point, SweepSpec, grid, latin_hypercube, parse_param, variants
from revsim.sweep.runner import build_points, run_sweep
from revsim.sweep.sweep_file import SweepFile, read_sweep_file
from revsim.sweep.sweep_result import SweepResult

__all__ = ["Param", "Point", "SweepFile", "SweepResult", "SweepSpec", "build_points", "grid",
           "latin_hypercube", "parse_param", "read_sweep_file", "run_sweep", "variants"]
