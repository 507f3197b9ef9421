"""The experiment layer: seeds, parallel execution and the resumable store, under every
command that runs replications (see :func:`run_points`)."""

from revsim.experiment.core import Runs, run_points
from revsim.experiment.executors import SerialExecutor, default_jobs, open_executor
from revsim.experiment.periods import Period, calendar_periods
from revsim.experiment.replication import (
    ReplicationSummary,
    RunOptions,
    draw_index,
    run_batch_means,
    run_one,
)
from revsim.experiment.store import ExperimentStore
from revsim.experiment.window import DEFAULT_SEED, check_seed, check_window, hours

__all__ = ["DEFAULT_SEED", "ExperimentStore", "Period", "ReplicationSummary", "RunOptions",
           "Runs", "SerialExecutor", "calendar_periods", "check_seed", "check_window",
           "default_jobs", "draw_index", "hours", "open_executor", "run_batch_means", "run_one",
           "run_points"]
