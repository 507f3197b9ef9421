"""A self-contained HTML report of a results folder (``revsim report DIR -o report.html``).

The folder is what ``revsim run SCENARIO -o DIR`` writes (kpis.csv, series.csv, manifest.json,
scenario.toml), optionally with the files of ``revsim bottlenecks ... -o DIR`` and
``revsim compare ... -o DIR`` beside them (and ``revsim forecast ... -o DIR``: a forecast
section); or a forecast folder alone; or a sweep folder (``revsim sweep ... -o DIR``:
manifest.json with a spec_hash, summary.parquet).

The report is one HTML5 file: inline CSS, every plot a PNG in a ``data:`` URI with alt text,
no scripts, fonts or links to anything outside the file.

The work is split over the modules of this package: :mod:`~revsim.report.read` (reading the
folder), :mod:`~revsim.report.figures` (plots as embedded PNGs), :mod:`~revsim.report.sections`,
:mod:`~revsim.report.extras` and :mod:`~revsim.report.sweep` (the sections, on the state in
:mod:`~revsim.report.context`), :mod:`~revsim.report.markup` (HTML helpers) and
:mod:`~revsim.report.template` (CSS and the page skeleton). This module assembles the page.
"""

from __future__ import annotations

from pathlib import Path

from revsim.io import write_text
from revsim.report.context import _Section
from revsim.report.extras import MARGINAL_HEADS as MARGINAL_HEADS
from revsim.report.extras import _ExtrasSections
from revsim.report.figures import DPI as DPI
from revsim.report.figures import MAX_SWEEP_PLOT_POINTS as MAX_SWEEP_PLOT_POINTS
from revsim.report.figures import Figure, plot_bottleneck_weeks, plot_sweep_points
from revsim.report.forecast import _ForecastSections
from revsim.report.markup import _e
from revsim.report.read import BOTTLENECK_FILES as BOTTLENECK_FILES
from revsim.report.read import COMPARISON_FILES as COMPARISON_FILES
from revsim.report.read import KPI_COLUMNS as KPI_COLUMNS
from revsim.report.read import RUN_FILES as RUN_FILES
from revsim.report.read import SWEEP_FILES as SWEEP_FILES
from revsim.report.read import ReportError, ResultsFolder, read_results
from revsim.report.sections import MAX_QUEUE_PLOTS as MAX_QUEUE_PLOTS
from revsim.report.sections import _RunSections
from revsim.report.sweep import _SweepSections
from revsim.report.template import page
from revsim.version import __version__


class _Report(_RunSections, _ExtrasSections, _SweepSections, _ForecastSections):
    """The whole report: the sections of the mixins, assembled into one page."""

    # -- assembling -----------------------------------------------------------------------------
    def title(self) -> str:
        if self.f.kind == "sweep":
            name = self._scenario_name() or "sweep"
            return f"revsim sweep report: {name}"
        if self.f.kind == "forecast":
            return f"revsim forecast: {self.m.get('scenario_name') or 'forecast'}"
        return f"revsim report: {self._scenario_name() or 'simulation run'}"

    def html(self) -> str:
        sections = self.sections()
        toc = "".join(f'<li><a href="#{_e(s.id)}">{_e(s.title)}</a></li>' for s in sections)
        body = [self.header(),
                f'<nav class="toc" aria-labelledby="toc-title"><h2 id="toc-title">Contents</h2>'
                f"<ol>{toc}</ol></nav>",
                "<main>"]
        for s in sections:
            body.append(f'<section id="{_e(s.id)}" aria-labelledby="{_e(s.id)}-title">\n'
                        f'<h2 id="{_e(s.id)}-title">{_e(s.title)}</h2>\n{s.body}\n</section>')
        body.append("</main>")
        body.append(self.footer())
        return page(self.title(), "\n".join(body), f"revsim {__version__}")

    def header(self) -> str:
        m = self.m
        if self.f.kind == "sweep":
            kicker = "revsim parameter sweep"
            h1 = self._scenario_name() or "Parameter sweep"
            points = len(m.get("points", []))
            lede = (f"{points} scenario variant{'s' if points != 1 else ''} "
                    f"({_e(m.get('design', 'grid'))} design), each run "
                    f"{_e(m.get('replications'))} times with common random numbers.")
        elif self.f.kind == "forecast":
            kicker = "revsim forecast report"
            h1 = str(m.get("scenario_name") or "Forecast")
            lede = _e(f"From the state {m.get('state', '')}.")
        else:
            kicker = "revsim simulation report"
            h1 = self._scenario_name() or "Simulation run"
            description = self._scenario_field("description")
            lede = _e(description) if description else ""
        facts = [f"{_e(m.get('replications'))} replications", f"seed {_e(m.get('seed'))}"]
        if m.get("window"):
            facts.append(f"window {_e(m['window'])}")
        facts.append(f"revsim {_e(m.get('revsim_version', '?'))}")
        out = [f'<header class="top"><p class="kicker">{kicker}</p><h1>{_e(h1)}</h1>']
        if lede:
            out.append(f'<p class="lede">{lede}</p>')
        out.append(f'<p class="muted">{" · ".join(facts)}</p></header>')
        return "".join(out)

    def footer(self) -> str:
        files = ", ".join(n for n in self.f.files if n not in self.f.foreign)
        foreign = (f" Not part of these results, and not read: {_e(', '.join(self.f.foreign))}."
                   if self.f.foreign else "")
        return (f"<footer><p>Rendered by revsim {_e(__version__)} from the folder "
                f"<code>{_e(self.f.path.name or self.f.path)}</code> ({_e(files)}).{foreign} "
                f"Every KPI is a mean over independent replications with a "
                f"{_e(self._confidence())} Student-t confidence interval; n is the number of "
                "replications with a value.</p></footer>")

    def sections(self) -> list[_Section]:
        if self.f.kind == "sweep":
            return [s for s in (self.sweep_settings(), self.reproduce_sweep(), self.sweep())
                    if s is not None]
        if self.f.kind == "forecast":
            return [s for s in (self.forecast(),) if s is not None]
        parts = [self.glance(), self.settings(), self.reproduce(), self.kpi_tables(),
                 self.funnel(), self.stage_time(), self.utilisation(), self.queues(),
                 self.bottlenecks(), self.cash(), self.comparison(), self.forecast(),
                 self.scenario_source()]
        return [s for s in parts if s is not None]


# -- public API -----------------------------------------------------------------------------------
def render_html(folder: str | Path | ResultsFolder) -> str:
    """The report of a results folder as one self-contained HTML5 document (a string)."""
    results = folder if isinstance(folder, ResultsFolder) else read_results(folder)
    return _Report(results).html()


def write_report(folder: str | Path | ResultsFolder, out: str | Path | None = None) -> Path:
    """Write the report of ``folder`` (a path, or one :func:`read_results` read) to ``out``
    (default ``folder/report.html``), atomically; returns the path written."""
    text = render_html(folder)
    where = folder.path if isinstance(folder, ResultsFolder) else Path(folder)
    target = Path(out) if out is not None else where / "report.html"
    if target.parent and not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
    return write_text(target, text)


__all__ = ["Figure", "ReportError", "ResultsFolder", "plot_bottleneck_weeks", "plot_sweep_points",
           "read_results", "render_html", "write_report"]
