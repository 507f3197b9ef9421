"""Snapshots of the business in the Python API: build one from an event log, read one from a
folder or a hand-written CSV (see docs/state-format.md). ``Scenario.from_state`` starts a
scenario from one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from revsim.errors import ScenarioError
from revsim.scenario.compile import compile_scenario
from revsim.scenario.load import parse_toml
from revsim.scenario.model import Model
from revsim.text_files import read_text_file

if TYPE_CHECKING:
    from revsim.api import Scenario


def _model_of(scenario: Scenario | Model | str | Path) -> Model:
    if isinstance(scenario, Model):
        return scenario
    if isinstance(scenario, str | Path):
        text = read_text_file(scenario, error=ScenarioError)
        return compile_scenario(parse_toml(text, str(scenario)), str(scenario))[0]
    return scenario.model


def build_state(log: Any, *, scenario: Scenario | Model | str | Path, as_of: Any,
                mapping: Any = None, format: str = "canonical",
                out: str | Path | None = None, date_format: str | None = None) -> Any:
    """The state of the business at ``as_of`` from an event log: open leads and deals in the
    scenario's stages, open invoices, customers with live contracts, staff load; items the
    scenario or the log say are over are counted by reason (``Snapshot.dead``).

    ``log``, ``mapping``, ``format`` and ``date_format`` are read as :func:`revsim.fit` reads
    them; ``scenario``
    is a Scenario, a compiled Model or a TOML path. ``out`` also writes the snapshot folder
    (atomically; see docs/state-format.md). Bad input raises StateError with every problem.
    Returns a :class:`revsim.state.snapshot.Snapshot`.
    """
    # lazy: the builder reads logs with calibrate (pandas, scipy); `revsim.load` must not
    from revsim.state.build import build_state as build
    from revsim.state.files import write_snapshot

    snapshot = build(log, scenario=_model_of(scenario), as_of=as_of, mapping=mapping,
                     format=format, date_format=date_format)
    if out is not None:
        write_snapshot(snapshot, out)
    return snapshot


def read_state(path: str | Path, *, as_of: Any = None,
               scenario: Scenario | Model | str | Path | None = None) -> Any:
    """Read a snapshot folder, or one hand-written CSV of open items (then give ``as_of``),
    checking checksums and every row; with ``scenario``, also that it fits that scenario
    (stages, pools, sources, segments). Every problem is raised at once as StateError."""
    # lazy: as in build_state
    from revsim.state.checks import validate_against
    from revsim.state.files import read_snapshot

    snapshot = read_snapshot(path, as_of=as_of)
    if scenario is not None:
        validate_against(snapshot, _model_of(scenario), source=str(path))
    return snapshot
