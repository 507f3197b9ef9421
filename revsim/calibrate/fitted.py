"""A scenario fitted to an event log, with the evidence behind every number, and how it is written:
as TOML with every fitted number annotated, and as a report folder (tables, KM/QQ plots, summary).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from revsim.calibrate.draws import DEFAULT_DRAWS, DrawsFile, write_draws
from revsim.calibrate.fit_plots import plot_qq, plot_survival
from revsim.calibrate.fitting import DurationFit
from revsim.calibrate.journeys import Journeys
from revsim.calibrate.log import EventLog
from revsim.calibrate.text_input import one_line
from revsim.calibrate.toml_text import assign, toml_key, toml_value
from revsim.io import atomic_path, write_csv, write_text
from revsim.scenario.compile import compile_scenario
from revsim.scenario.load import parse_toml
from revsim.scenario.model import Model
from revsim.scenario.parameters import SECTION


@dataclass
class FittedScenario:
    """A scenario derived from a log, with the evidence behind every number."""

    raw: dict[str, Any]
    comments: dict[str, str]
    fits: dict[str, DurationFit]
    transitions: pd.DataFrame
    arrivals: pd.DataFrame
    notes: list[str]
    log: EventLog
    journeys: Journeys
    header: list[str] = field(default_factory=list)
    draws: DrawsFile | None = field(default=None, init=False)  # written by write()
    excluded: dict[str, int] = field(default_factory=dict)
    """Rows of the log that a part of the fit left out, counted by reason (the reason names
    the unit: journeys, invoices, won deals). Rows skipped while reading are ``log.skipped``."""
    warnings: list[str] = field(default_factory=list)
    """What was odd about the input or the fit, one line each (revsim.calibrate.input_warnings)."""

    def to_toml(self, draws: DrawsFile | None = None) -> str:
        """The scenario as TOML, every fitted number annotated; with ``draws`` (written by
        :func:`revsim.calibrate.draws.write_draws`), naming them in ``[parameter_draws]``."""
        return scenario_toml(self, draws)

    def model(self) -> Model:
        """The fitted scenario, validated and compiled: the engine model that ``backtest`` and
        revsim.experiment run. Raises ``ScenarioError`` with every problem if it does not load.

        (For the Python API's ``Scenario``, with ``run`` and ``compare``:
        ``revsim.loads(fitted.to_toml())``; calibrate sits below that layer.)
        """
        source = f"fitted from {self.log.source}"
        model, _ = compile_scenario(parse_toml(self.to_toml(), source), source)
        return model

    def write(self, path: str | Path, *, draws: int = DEFAULT_DRAWS,
              progress: bool | None = None) -> Path:
        """Write the annotated scenario TOML (atomically), and first, unless ``draws`` is 0,
        that many bootstrap draws of its parameters beside it (``NAME.draws.json``, which the
        TOML names with its SHA-256 in ``[parameter_draws]``): what ``--parameter-uncertainty
        on`` runs. ``self.draws`` then describes them. ``progress``: a bar of the draws."""
        path = Path(path)
        self.draws = write_draws(self, path, draws, progress=progress) if draws > 0 else None
        return write_text(path, self.to_toml(self.draws))

    def write_report(self, folder: str | Path, *, plots: bool = True) -> list[Path]:
        """Fit table, routes, arrivals, KM/QQ plots and a summary.md in ``folder``."""
        return write_report(self, folder, plots=plots)


def comment_text(text: str) -> str:
    """``text`` fit for one TOML comment line: line breaks and other control characters (which
    TOML forbids in comments, and which would end the comment) escaped, as messages show them."""
    return one_line(str(text))


def scenario_toml(fitted: FittedScenario, draws: DrawsFile | None = None) -> str:
    """The fitted scenario as TOML text, comments above the values they explain."""
    lines = [
        "# Scenario fitted by `revsim fit` from an event log.",
        f"# log: {comment_text(fitted.log.file_name)}; as of {fitted.log.as_of}; "
        f"{fitted.log.events['case_id'].nunique()} cases, {len(fitted.log.events)} events.",
        "# Every fitted number is annotated with its evidence (n, censoring, CIs, fit",
        "# statistics). Open cases were right-censored at the as-of time, not dropped.",
    ]
    if fitted.excluded:
        lines.append(f"# {comment_text(excluded_text(fitted.excluded))}")
    for warning in fitted.warnings:
        lines.append(f"# WARNING: {comment_text(warning)}")
    for note in fitted.notes:  # wrapped: a note may run to a few hundred characters
        first, *rest = _wrap(f"NOTE: {comment_text(note)}") or ["NOTE:"]
        lines += [f"# {first}", *(f"#   {chunk}" for chunk in rest)]
    lines.append("")
    comments = fitted.comments

    def table(path: str, body: dict[str, Any]) -> None:
        lines.append(f"[{'.'.join(toml_key(p) for p in path.split('.'))}]" if path else "")
        for key, value in body.items():
            dotted = f"{path}.{key}" if path else key
            if isinstance(value, dict) and _is_table(value):
                continue
            if dotted in comments:
                lines.extend(_wrap_comment(comment_text(comments[dotted])))
            # the evidence for a part of an inline table (deals.contract.terms) goes above it,
            # named by the part: the table's one line has no room for it
            if isinstance(value, dict):
                lines.extend(line for inner, text in comments.items()
                             if inner.startswith(f"{dotted}.")
                             for line in _wrap_comment(
                                 comment_text(f"{inner[len(dotted) + 1:]}: {text}")))
            lines.extend(assign(toml_key(key), value))
        lines.append("")
        for key, value in body.items():
            if isinstance(value, dict) and _is_table(value):
                table(f"{path}.{key}" if path else key, value)

    for section, body in fitted.raw.items():
        if section in ("sources", "stages", "segments", "pools", "calendars"):
            for name, entry in body.items():
                table(f"{section}.{name}", entry)
        else:
            table(section, body)
    if draws is not None:
        lines += _wrap_comment(
            f"{draws.describe()} ({', '.join(draws.parameters) or 'none varies'}), refitted "
            "on resamples of the log: with --parameter-uncertainty on, each replication runs "
            "one of them (docs/parameter-uncertainty.md)")
        lines += [f"[{SECTION}]", f"file = {toml_value(draws.path.name)}",
                  f"sha256 = {toml_value(draws.sha256)}", ""]
    return "\n".join(line for line in lines if line is not None).rstrip() + "\n"


def _is_table(value: dict[str, Any]) -> bool:
    # nested values (distribution specs, routes, contracts) are written as inline tables
    return False


def _wrap_comment(text: str) -> list[str]:
    return [f"# {chunk}" for chunk in _wrap(text)]


def _wrap(text: str, width: int = 96) -> list[str]:
    words, out, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            out.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        out.append(line)
    return out


def excluded_text(excluded: dict[str, int]) -> str:
    """``excluded from the fit: <reason>: 2; <reason>: 1`` or ``excluded from the fit: none``."""
    parts = "; ".join(f"{why}: {n:,}" for why, n in excluded.items())
    return f"excluded from the fit: {parts or 'none'}"


def write_report(fitted: FittedScenario, out: str | Path, *, plots: bool = True) -> list[Path]:
    """A report folder: fit_table.csv, transitions.csv, arrivals.csv, KM/QQ plots, summary.md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = []
    for path, fit in fitted.fits.items():
        t = fit.table.copy()
        t.insert(0, "fitted", path)
        t["chosen"] = t["family"] == fit.best
        t["fallback"] = fit.fallback or ""
        frames.append(t)
    written = []
    if frames:
        written.append(write_csv(pd.concat(frames, ignore_index=True), out / "fit_table.csv"))
    written.append(write_csv(fitted.transitions, out / "transitions.csv"))
    written.append(write_csv(fitted.arrivals, out / "arrivals.csv"))
    if plots and fitted.fits:
        written += _plots(fitted, out)
    written.append(write_text(out / "summary.md", summary_markdown(fitted)))
    return written


def _plots(fitted: FittedScenario, out: Path) -> list[Path]:
    import matplotlib  # lazy: matplotlib costs start-up time and only report folders draw

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt  # lazy: as above

    written = []
    for path, fit in fitted.fits.items():
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
        try:
            plot_survival(fit, ax=a1)
            plot_qq(fit, ax=a2)
            fig.suptitle(path)
            fig.tight_layout()
            target = out / f"fit_{re.sub(r'[^A-Za-z0-9_]+', '_', path)}.png"
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format="png", dpi=110)
            written.append(target)
        finally:
            plt.close(fig)
    return written


def summary_markdown(fitted: FittedScenario) -> str:
    log = fitted.log
    visits = fitted.journeys.visits
    bullets = [
        f"as of: {log.as_of}; period {log.start} to {log.as_of}",
        f"cases: {log.events['case_id'].nunique()}, events: {len(log.events)}",
        f"journeys (lead + opportunity): {len(fitted.journeys.journeys)}; stage visits "
        f"{len(visits)}, of which {int(visits['censored'].sum())} still open (right-censored "
        "at as-of, kept in the fits)",
    ]
    if log.skipped:
        bullets.append("skipped rows: " + ", ".join(f"{n} ({why})" for why, n in
                                                   log.skipped.items()))
    lines = [f"# Calibration summary: {comment_text(log.file_name)}", ""]
    lines += [line for b in bullets for line in _bullet(b)]
    if fitted.excluded:
        # a list of its own: the reasons are sentences, one line they would be hundreds long
        lines.append("- excluded from the fit:")
        lines += [line for why, n in fitted.excluded.items()
                  for line in _bullet(f"{comment_text(why)}: {n:,}", "  ")]
    lines += [line for w in fitted.warnings for line in _bullet(f"warning: {comment_text(w)}")]
    lines += ["", "## Arrivals", "", _md(fitted.arrivals), "", "## Routes", "",
              _md(fitted.transitions), "", "## Fitted durations", ""]
    for path, fit in fitted.fits.items():
        lines.append(f"### {path}")
        lines.append("")
        lines.append(f"Chosen: **{fit.best}**" + (f" ({fit.fallback} fallback)"
                                                  if fit.fallback else ""))
        if fit.note:
            lines.append("")
            lines += _wrap(comment_text(fit.note))  # one paragraph: Markdown joins its lines
        lines += ["", _md(fit.table), ""]
    if fitted.notes:
        lines += ["## Notes", ""]
        lines += [line for n in fitted.notes for line in _bullet(comment_text(n))] + [""]
    return "\n".join(lines)


def _bullet(text: str, indent: str = "") -> list[str]:
    # continuation lines indented under the dash stay part of the same list item
    chunks = _wrap(text, 96 - len(indent))
    if not chunks:
        return [f"{indent}-"]
    return [f"{indent}- {chunks[0]}", *(f"{indent}  {c}" for c in chunks[1:])]


def _md(df: pd.DataFrame) -> str:
    if df is None or df.empty:
        return "(none)"
    cols = list(df.columns)
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        rows.append("| " + " | ".join(_cell(r[c]) for c in cols) + " |")
    return "\n".join(rows)


def _cell(value: Any) -> str:
    """A table cell: numbers to 4 significant digits, a parameter dict as ``name=value`` pairs
    (not its Python repr), and no ``|`` or line break that would end the cell or the row."""
    if isinstance(value, dict):
        text = ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        text = ", ".join(_cell(v) for v in value)
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _cell(value.item())
    else:
        text = str(value)
    return comment_text(text).replace("|", "\\|")
