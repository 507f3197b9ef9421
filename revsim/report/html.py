"""A self-contained HTML report of a results folder (``revsim report DIR -o report.html``).

The folder is what ``revsim run SCENARIO -o DIR`` writes (kpis.csv, series.csv, manifest.json,
scenario.toml), optionally with the files of ``revsim bottlenecks ... -o DIR`` and
``revsim compare ... -o DIR`` beside them; or a sweep folder (``revsim sweep ... -o DIR``:
manifest.json with a spec_hash, summary.parquet).

The report is one HTML5 file: inline CSS, every plot a PNG in a ``data:`` URI with alt text,
no scripts, fonts or links to anything outside the file.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shlex
import struct
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from revsim import __version__
from revsim.errors import Problem, ProblemsError
from revsim.report.template import page
from revsim.table import _HIDE_IF_ZERO, _POOL_COLUMNS, _STAGE_COLUMNS, format_value

if TYPE_CHECKING:
    from matplotlib.axes import Axes

RUN_FILES = ("kpis.csv", "manifest.json")
SWEEP_FILES = ("manifest.json", "summary.parquet")
KPI_COLUMNS = ("metric", "scope", "name", "unit", "mean", "ci_low", "ci_high", "half_width", "n")
# Files of the other commands that may sit in a run's folder.
BOTTLENECK_FILES = ("bottleneck_pools.csv", "bottleneck_stages.csv", "bottleneck_timeline.csv",
                    "marginal_values.csv", "bottlenecks.txt")
COMPARISON_FILES = ("comparison.csv", "kpis_base.csv")
# The "at a glance" KPIs (scope, metric), in this order.
HEADLINE = (("total", "won"), ("total", "bookings"), ("total", "conversion"),
            ("total", "cycle_time_median"), ("total", "time_to_first_touch_median"),
            ("cash", "cash_collected"), ("cash", "dso"), ("cash", "ar_outstanding"))
# Sweep table columns (scope, metric), shown when the sweep has them.
SWEEP_COLUMNS = (("total", "won"), ("total", "bookings"), ("cash", "cash_collected"),
                 ("total", "cycle_time_median"))
MAX_QUEUE_PLOTS = 2
# Short column heads of the marginal-value table.
MARGINAL_HEADS = {"won": "deals won", "bookings": "bookings", "cash_collected": "cash collected",
                  "cycle_time_mean": "cycle time, mean",
                  "time_to_first_touch_mean": "first touch, mean"}
MAX_SWEEP_PLOT_POINTS = 40
DPI = 144  # PNG resolution; shown at 96 CSS px per inch, so sharp on high-density screens


class ReportError(ProblemsError):
    """The folder cannot be reported on (not a results folder, or an unreadable file)."""


# -- reading a results folder -------------------------------------------------------------------
@dataclass
class ResultsFolder:
    """Everything a report can show, read from one folder (absent extras are None)."""

    path: Path
    kind: str  # "run" or "sweep"
    manifest: dict[str, Any]
    kpis: pd.DataFrame | None = None
    series: pd.DataFrame | None = None
    scenario_text: str | None = None
    bottleneck_pools: pd.DataFrame | None = None
    bottleneck_stages: pd.DataFrame | None = None
    bottleneck_timeline: pd.DataFrame | None = None
    marginal: pd.DataFrame | None = None
    bottleneck_text: str | None = None
    comparison: pd.DataFrame | None = None
    comparison_base: pd.DataFrame | None = None
    sweep_summary: pd.DataFrame | None = None
    files: list[str] = field(default_factory=list)

    @property
    def has_bottlenecks(self) -> bool:
        return self.bottleneck_pools is not None

    @property
    def has_comparison(self) -> bool:
        return self.comparison is not None and not self.comparison.empty


def read_results(folder: str | Path) -> ResultsFolder:
    """Read a results folder; raise :class:`ReportError` naming what is missing or broken."""
    path = Path(folder)
    source = str(folder)
    if not path.exists():
        raise ReportError([Problem("", "no such folder")], source)
    if not path.is_dir():
        raise ReportError([Problem("", "not a folder; give the folder written by "
                                   "`revsim run SCENARIO -o DIR`")], source)
    manifest = _read_manifest(path) if (path / "manifest.json").is_file() else None
    if manifest is not None and "spec_hash" in manifest:
        missing = [f for f in SWEEP_FILES if not (path / f).is_file()]
        if missing:
            raise ReportError([Problem("", f"a sweep folder without {', '.join(missing)}: the "
                                       "sweep has not finished; run `revsim sweep ... --resume` "
                                       "to complete it")], source)
        return _read_sweep(path, manifest)
    missing = [f for f in RUN_FILES if not (path / f).is_file()]
    if missing:
        found = [f for f in (*BOTTLENECK_FILES, *COMPARISON_FILES) if (path / f).is_file()]
        hint = (f"; it holds {', '.join(found)}, so also write the base run there with "
                f"`revsim run SCENARIO -o {path}`" if found else
                f"; write one with `revsim run SCENARIO -o {path}`")
        raise ReportError([Problem("", f"not a revsim results folder: missing "
                                   f"{', '.join(missing)}{hint}")], source)
    assert manifest is not None
    result = ResultsFolder(path, "run", manifest)
    result.kpis = _read_table(path / "kpis.csv", KPI_COLUMNS, text={"metric", "scope", "name",
                                                                    "unit"})
    if (path / "series.csv").is_file():
        series = _read_table(path / "series.csv", ("replication", "t_hours", "variable", "value"),
                             text={"variable", "date"})
        if "date" in series.columns:
            series["date"] = pd.to_datetime(series["date"], errors="coerce")
        result.series = series
    if (path / "scenario.toml").is_file():
        result.scenario_text = _read_text(path / "scenario.toml")
    if (path / "bottleneck_pools.csv").is_file():
        result.bottleneck_pools = _read_table(path / "bottleneck_pools.csv", ("pool",),
                                              text={"pool"})
        if (path / "bottleneck_stages.csv").is_file():
            result.bottleneck_stages = _read_table(path / "bottleneck_stages.csv", ("stage",),
                                                   text={"stage"}, flags={"growing"})
        if (path / "bottleneck_timeline.csv").is_file():
            timeline = _read_table(path / "bottleneck_timeline.csv",
                                   ("week_start", "pool", "share"), text={"week_start", "pool"})
            timeline["week_start"] = pd.to_datetime(timeline["week_start"], errors="coerce")
            result.bottleneck_timeline = timeline
        if (path / "marginal_values.csv").is_file():
            result.marginal = _read_table(
                path / "marginal_values.csv", (), text={"pool", "metric", "scope", "name", "unit"},
                flags={"per_year", "significant"})
        if (path / "bottlenecks.txt").is_file():
            result.bottleneck_text = _read_text(path / "bottlenecks.txt")
    if (path / "comparison.csv").is_file():
        result.comparison = _read_table(
            path / "comparison.csv", ("variant", "metric", "scope", "name", "unit", "base_mean",
                                      "variant_mean", "diff", "ci_low", "ci_high"),
            text={"variant", "metric", "scope", "name", "unit"}, flags={"significant"})
        if (path / "kpis_base.csv").is_file():
            result.comparison_base = _read_table(path / "kpis_base.csv", KPI_COLUMNS,
                                                 text={"metric", "scope", "name", "unit"})
    result.files = sorted(p.name for p in path.iterdir() if p.is_file()
                          and not p.name.startswith(".") and p.suffix != ".html")
    return result


def _read_manifest(path: Path) -> dict[str, Any]:
    target = path / "manifest.json"
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReportError([Problem("manifest.json", f"cannot read it: {err}")], str(path)) \
            from None
    if not isinstance(data, dict):
        raise ReportError([Problem("manifest.json", "expected a JSON object")], str(path))
    return data


def _read_text(target: Path) -> str:
    try:
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ReportError([Problem(target.name, f"cannot read it: {err}")],
                          str(target.parent)) from None


def _read_table(target: Path, required: Sequence[str], *, text: set[str],
                flags: Iterable[str] = ()) -> pd.DataFrame:
    """A CSV written by revsim: ``text`` columns stay strings ("" for empty, so a stage named
    "NA" survives), ``flags`` become booleans, every other column becomes numeric."""
    try:
        frame = pd.read_csv(target, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(required))
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise ReportError([Problem(target.name, f"cannot read it: {err}")],
                          str(target.parent)) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ReportError([Problem(target.name, f"missing column(s) {', '.join(missing)}; "
                                   "was it written by revsim?")], str(target.parent))
    flag_set = set(flags)
    for column in frame.columns:
        if column in text:
            frame[column] = frame[column].astype(str)
        elif column in flag_set:
            frame[column] = frame[column].str.strip().str.lower().isin(("true", "1"))
        else:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _read_sweep(path: Path, manifest: dict[str, Any]) -> ResultsFolder:
    result = ResultsFolder(path, "sweep", manifest)
    try:
        summary = pd.read_parquet(path / "summary.parquet")
    except Exception as err:  # pyarrow raises several types for a damaged file
        raise ReportError([Problem("summary.parquet", f"cannot read it: {err}")],
                          str(path)) from None
    missing = [c for c in ("point", "label", "metric", "scope", "name", "unit", "mean")
               if c not in summary.columns]
    if missing:
        raise ReportError([Problem("summary.parquet", f"missing column(s) {', '.join(missing)}")],
                          str(path))
    summary["name"] = summary["name"].fillna("").astype(str)
    result.sweep_summary = summary
    result.files = sorted(p.name for p in path.iterdir() if p.is_file()
                          and not p.name.startswith(".") and p.suffix != ".html")
    return result


# -- small HTML helpers ---------------------------------------------------------------------------
def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _attrs(attrs: dict[str, Any]) -> str:
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{_e(v)}"' for k, v in attrs.items()
                   if v is not None)


def _tag(name: str, content: str = "", **attrs: Any) -> str:
    return f"<{name}{_attrs(attrs)}>{content}</{name}>"


def _table(head: Sequence[tuple[str, str]], rows: Sequence[str], caption: str = "",
           **attrs: Any) -> str:
    """``head``: (text, css class) per column; ``rows``: ready <tr> markup."""
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    ths = "".join(f'<th scope="col"{_attrs({"class_": cls or None})}>{_e(text)}</th>'
                  for text, cls in head)
    body = "\n".join(rows)
    return (f'<div class="table-wrap"><table{_attrs(attrs)}>{cap}<thead><tr>{ths}</tr></thead>'
            f"\n<tbody>\n{body}\n</tbody></table></div>")


def _dl(items: Sequence[tuple[str, str]]) -> str:
    """A definition list; values are markup."""
    body = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items)
    return f'<dl class="facts">{body}</dl>'


def _num(x: Any) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return math.nan
    return value


def _label(metric: str) -> str:
    from revsim.plotting._common import kpi_label

    return kpi_label(metric)


def _duration_arg(hours: float) -> str:
    """Hours as a duration the CLI reads back exactly: "40 w", "3 d", "36 h", "90 min"."""
    if hours == 0:
        return "0 h"
    for unit, size in (("w", 168.0), ("d", 24.0), ("h", 1.0), ("min", 1 / 60)):
        count = hours / size
        if abs(count - round(count)) < 1e-9:
            return f"{round(count)} {unit}"
    return f"{hours!r} h"


def _signed(value: float, unit: str, currency: str) -> str:
    if not math.isfinite(value):
        return "-"
    return ("+" if value >= 0 else "-") + format_value(abs(value), unit, currency)


# -- plots ----------------------------------------------------------------------------------------
@dataclass
class Figure:
    """One embedded plot: PNG bytes, alt text, caption and its size in CSS pixels."""

    png: bytes
    alt: str
    caption: str
    width: int
    height: int

    def html(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        cap = f"<figcaption>{_e(self.caption)}</figcaption>" if self.caption else ""
        return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(self.alt)}" '
                f'width="{self.width}" height="{self.height}">{cap}</figure>')


def _render(draw: Callable[[], Axes], alt: str, caption: str = "") -> Figure:
    """Draw a plot on a new figure, rasterise it with Agg at DPI, close it; the PNG has a
    256-colour palette (charts have few colours; a third of the size of full colour)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure
    from PIL import Image

    before = set(plt.get_fignums())
    try:
        ax = draw()
        fig = ax.figure
        assert isinstance(fig, MplFigure)  # the plot functions draw on new figures
        fig.set_dpi(DPI)
        fig.set_facecolor("white")
        canvas = FigureCanvasAgg(fig)  # whatever the pyplot backend is
        canvas.draw()
        rgba = canvas.buffer_rgba()
        image = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA",
                                 0, 1)
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    finally:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
    out = io.BytesIO()
    palette.save(out, format="PNG", compress_level=9)
    png = out.getvalue()
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    scale = 96 / DPI
    return Figure(png, alt, caption, round(width * scale), round(height * scale))


class _Plots:
    """Renders plots, turning a plot that cannot be drawn from these files into a note."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def make(self, what: str, draw: Callable[[], Axes], alt: str, caption: str = "") -> str:
        try:
            return _render(draw, alt, caption).html()
        except (ValueError, KeyError, IndexError, TypeError) as err:
            return f'<p class="note">No {_e(what)} plot: {_e(err)}</p>'


# -- report ---------------------------------------------------------------------------------------
@dataclass
class _Section:
    id: str
    title: str
    body: str


class _Report:
    def __init__(self, folder: ResultsFolder) -> None:
        self.f = folder
        self.m = folder.manifest
        self.plots = _Plots()
        self.scenario: dict[str, Any] = {}
        self.model: Any = None
        self.model_note = ""
        if folder.scenario_text is not None:
            self._load_scenario(folder.scenario_text)
        self.currency = self._currency()

    # -- scenario -------------------------------------------------------------------------------
    def _load_scenario(self, text: str) -> None:
        try:
            self.scenario = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            self.model_note = f"scenario.toml could not be read ({err})"
            return
        try:
            import revsim

            self.model = revsim.loads(text, source="scenario.toml")
        except Exception as err:  # a report should still render from the tables alone
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            self.model_note = f"scenario.toml does not load with this revsim ({first})"

    def _scenario_field(self, key: str) -> Any:
        body = self.scenario.get("scenario")
        return body.get(key) if isinstance(body, dict) else None

    def _currency(self) -> str:
        cur = self._scenario_field("currency")
        if isinstance(cur, str) and cur:
            return cur
        if self.f.kpis is not None:
            from revsim.plotting._common import PLAIN_UNITS

            money = [u for u in self.f.kpis["unit"].unique() if u not in PLAIN_UNITS]
            if money:
                return str(money[0])
        return "USD"

    def funnel_stages(self) -> list[str] | None:
        """The stages before the sale (the funnel) when the scenario compiles, else None."""
        if self.model is None:
            return None
        model = self.model.model
        chosen = [model.stages[i].name for i in model.sales_stages]
        known = set(self.kpis_scope("stage")["name"])
        chosen = [s for s in chosen if s in known]
        return chosen or None

    # -- data -----------------------------------------------------------------------------------
    def kpis_scope(self, scope: str) -> pd.DataFrame:
        assert self.f.kpis is not None
        k = self.f.kpis
        return k[k["scope"] == scope]

    def kpi(self, scope: str, metric: str, name: str = "") -> pd.Series | None:
        if self.f.kpis is None:
            return None
        k = self.f.kpis
        hit = k[(k["scope"] == scope) & (k["metric"] == metric) & (k["name"] == name)]
        return None if hit.empty else hit.iloc[0]

    def fmt(self, value: Any, unit: str) -> str:
        return format_value(_num(value), unit, self.currency)

    # -- assembling -----------------------------------------------------------------------------
    def title(self) -> str:
        if self.f.kind == "sweep":
            name = self._scenario_name() or "sweep"
            return f"revsim sweep report: {name}"
        return f"revsim report: {self._scenario_name() or 'simulation run'}"

    def _scenario_name(self) -> str:
        name = self.m.get("scenario_name") or self._scenario_field("name")
        return str(name) if name else ""

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
        files = ", ".join(self.f.files)
        return (f"<footer><p>Rendered by revsim {_e(__version__)} from the folder "
                f"<code>{_e(self.f.path.name or self.f.path)}</code> ({_e(files)}). Every KPI is "
                f"a mean over independent replications with a "
                f"{_e(self._confidence())} Student-t confidence interval; n is the number of "
                "replications with a value.</p></footer>")

    def _confidence(self) -> str:
        conf = _num(self.m.get("confidence", 0.95))
        return f"{conf:.0%}" if math.isfinite(conf) else "95%"

    def sections(self) -> list[_Section]:
        if self.f.kind == "sweep":
            return [s for s in (self.sweep_settings(), self.reproduce_sweep(), self.sweep())
                    if s is not None]
        parts = [self.glance(), self.settings(), self.reproduce(), self.kpi_tables(),
                 self.funnel(), self.stage_time(), self.utilisation(), self.queues(),
                 self.bottlenecks(), self.cash(), self.comparison(), self.scenario_source()]
        return [s for s in parts if s is not None]

    # -- at a glance ----------------------------------------------------------------------------
    def glance(self) -> _Section:
        cards = []
        for scope, metric in HEADLINE:
            r = self.kpi(scope, metric)
            if r is None or not math.isfinite(_num(r["mean"])):
                continue
            ci = (f"95% CI {self.fmt(r['ci_low'], r['unit'])} to "
                  f"{self.fmt(r['ci_high'], r['unit'])}"
                  if _num(r["n"]) > 1 and math.isfinite(_num(r["ci_low"])) else "no CI")
            cards.append(f'<li class="card"><span class="label">{_e(_label(metric))}</span>'
                         f'<span class="value">{_e(self.fmt(r["mean"], r["unit"]))}</span>'
                         f'<span class="ci">{_e(ci)}</span></li>')
        body = [f"<p>Means over {_e(self.m.get('replications'))} replications of the window "
                f"{_e(self.m.get('window', ''))}; counts and money are totals over that "
                "window.</p>"]
        if cards:
            body.append(f'<ul class="cards">{"".join(cards)}</ul>')
        sentence = self.bottleneck_sentence()
        if sentence:
            body.append(f'<p class="answer"><strong>Bottleneck</strong> (from the separate '
                        f'<a href="#bottlenecks">bottleneck analysis</a>): {_e(sentence)}</p>')
        return _Section("at-a-glance", "At a glance", "\n".join(body))

    # -- scenario and run settings --------------------------------------------------------------
    def settings(self) -> _Section:
        m = self.m
        items: list[tuple[str, str]] = [
            ("Scenario", _e(self._scenario_name() or "-")),
            ("Scenario file", f"<code>{_e(m.get('scenario_file') or '-')}</code>"),
            ("Scenario hash", f"<code>{_e(m.get('scenario_hash', '-'))}</code>"
             + self._hash_check()),
        ]
        description = self._scenario_field("description")
        if description:
            items.append(("Description", _e(description)))
        items.append(("Currency", _e(self.currency)))
        items += [
            ("Replications", _e(m.get("replications", "-"))),
            ("Seed", _e(m.get("seed", "-"))),
            ("Horizon", _e(self._hours_text(m.get("horizon_hours")))),
            ("Warm-up", _e(self._hours_text(m.get("warmup_hours")))
             + " <span class=\"muted\">(excluded from every KPI)</span>"),
            ("Window", _e(m.get("window", "-"))),
            ("Confidence", _e(self._confidence())),
        ]
        for key, label in (("warmup_auto", "Warm-up choice"), ("method", "Method")):
            if m.get(key):
                items.append((label, _e(m[key])))
        if isinstance(m.get("precision"), dict):
            p = m["precision"]
            verdict = "met" if p.get("met") else f"not met (cap of {p.get('cap')} reached)"
            items.append(("Precision target",
                          _e(f"{_num(p.get('target')):.0%} relative half-width: {verdict} after "
                             f"{p.get('replications')} replications (worst "
                             f"{_num(p.get('worst_relative_half_width')):.1%})")))
        items += [("revsim version", _e(m.get("revsim_version", "-")))]
        if m.get("python"):
            items.append(("Python", _e(m["python"])))
        if m.get("created"):
            items.append(("Run at", _e(m["created"])
                          + (f" <span class=\"muted\">({_num(m['wall_time_s']):.1f} s)</span>"
                             if "wall_time_s" in m else "")))
        body = _dl(items)
        if self.model_note:
            body += f'<p class="warning">{_e(self.model_note)}; the funnel shows every stage.</p>'
        return _Section("run", "Scenario and run settings", body)

    def _hours_text(self, hours: Any) -> str:
        h = _num(hours)
        if not math.isfinite(h):
            return "-"
        from revsim.units import format_duration

        arg, human = _duration_arg(h), format_duration(h)
        return arg if arg == human else f"{arg} ({human})"

    def _hash_check(self) -> str:
        if self.model is None or not self.m.get("scenario_hash"):
            return ""
        if self.model.hash == self.m["scenario_hash"]:
            return ' <span class="yes">matches scenario.toml in this folder</span>'
        return (' <span class="flag">differs from scenario.toml in this folder '
                f"({_e(self.model.hash)})</span>")

    # -- reproduce ------------------------------------------------------------------------------
    def run_command(self, scenario_file: str, sets: Sequence[str] = ()) -> str:
        m = self.m
        args = ["revsim", "run", scenario_file]
        if "method" in m and str(m["method"]).startswith("batch means"):
            found = re.search(r"(\d+) batches", str(m["method"]))
            args += ["--batch-means", found.group(1) if found else str(m.get("replications"))]
        else:
            args += ["-n", str(m.get("replications"))]
        args += ["--seed", str(m.get("seed"))]
        for key, flag in (("horizon_hours", "--horizon"), ("warmup_hours", "--warmup")):
            h = _num(m.get(key))
            if math.isfinite(h):
                args += [flag, _duration_arg(h)]
        for item in sets:
            args += ["--set", item]
        args += ["-o", self.f.path.name or "results"]
        return shlex.join(args)

    def _overrides(self) -> list[str]:
        """The --set overrides of the run, from the header revsim writes into scenario.toml."""
        text = self.f.scenario_text or ""
        first = text.splitlines()[0] if text else ""
        prefix = "# scenario as run, with overrides: "
        if not first.startswith(prefix):
            return []
        return [part.strip() for part in first[len(prefix):].split(", ") if "=" in part]

    def reproduce(self) -> _Section:
        m = self.m
        sets = self._overrides()
        file = str(m.get("scenario_file") or "SCENARIO.toml")
        command = self.run_command(file, sets)
        notes = [f"Run in the folder the original command ran in (the scenario file path "
                 f"<code>{_e(file)}</code> is as it was given). The same seed gives identical "
                 "results whatever <code>--jobs</code> is; horizon and warm-up are given "
                 "explicitly so later edits of the file's defaults do not change the window."]
        if not m.get("scenario_file"):
            notes.append("The run was made from Python, not from a file, so the manifest names "
                         "no scenario file: save the scenario as <code>SCENARIO.toml</code> "
                         f"(its hash must be <code>{_e(m.get('scenario_hash', '?'))}</code>).")
        if self.f.scenario_text is not None:
            notes.append("The folder holds the scenario as it was run (<code>scenario.toml"
                         "</code>, reproduced in full at the end of this report); running that "
                         "copy instead of the original file gives the same results"
                         + (" (it already includes the overrides)." if sets else "."))
        if "precision" in m:
            notes.append("The run added replications until the precision target was met; "
                         "<code>-n</code> with the final count reproduces the same replications.")
        if "warmup_auto" in m:
            notes.append("The warm-up was chosen automatically (<code>--warmup auto</code>); "
                         "the command fixes it at the chosen value.")
        extra = self._extras_provenance()
        body = ['<p>The exact command that reproduces these results:</p>',
                f'<pre class="reproduce" id="reproduce-command"><code>{_e(command)}</code></pre>',
                *[f'<p class="note">{n}</p>' for n in notes], *extra]
        return _Section("reproduce", "Reproduce", "\n".join(body))

    def _extras_provenance(self) -> list[str]:
        out = []
        if self.f.bottleneck_text:
            first = self.f.bottleneck_text.splitlines()[0]
            out.append(f'<p class="note">The bottleneck analysis in this folder was a separate '
                       f"run (<code>revsim bottlenecks</code>): {_e(first)}.</p>")
        if self.f.comparison_base is not None and not self.f.comparison_base.empty:
            n = int(_num(self.f.comparison_base["n"].max()))
            out.append(f'<p class="note">The comparison in this folder was a separate run '
                       f"(<code>revsim compare</code>) with {n} paired replications.</p>")
        return out

    # -- KPI tables -----------------------------------------------------------------------------
    def kpi_tables(self) -> _Section:
        assert self.f.kpis is not None
        n_reps = self.m.get("replications")
        conf = self._confidence()
        out = [f"<p>Each KPI: the mean over replications, its {conf} confidence interval and n "
               "(replications with a value). Counts and money are totals over the window.</p>"]
        for scope, title in (("total", "Whole cycle"), ("cash", "Cash (deals, invoices, payments)"),
                             ("source", "Leads in, by source")):
            part = self.kpis_scope(scope)
            if part.empty:
                continue
            rows = []
            for _, r in part.iterrows():
                if r["metric"] in _HIDE_IF_ZERO and _num(r["mean"]) == 0 \
                        and _num(r["ci_high"]) == 0:
                    continue
                label = r["name"] if scope == "source" else _label(str(r["metric"]))
                rows.append(self._kpi_row(label, r))
            out.append(f'<h3 id="kpis-{scope}">{_e(title)}</h3>')
            out.append(_table([("KPI", ""), ("mean", "num"), (f"{conf} CI", "num"), ("n", "num")],
                              rows, f"{title}: mean [{conf} CI], n", class_="kpis",
                              data_scope=scope))
        for scope, title, columns in (("stage", "Stages", _STAGE_COLUMNS),
                                      ("pool", "Staff pools", _POOL_COLUMNS)):
            part = self.kpis_scope(scope)
            if part.empty:
                continue
            out.append(f'<h3 id="kpis-{scope}">{_e(title)}</h3>')
            out.append(self._matrix(part, columns, scope, f"{title}: mean ± {conf} CI "
                                    f"half-width, n = {n_reps} replications"))
        return _Section("kpis", "Key performance indicators", "\n".join(out))

    def _kpi_row(self, label: str, r: pd.Series) -> str:
        unit = str(r["unit"])
        n = _num(r["n"])
        if n > 1 and math.isfinite(_num(r["ci_low"])):
            ci = f"{self.fmt(r['ci_low'], unit)} to {self.fmt(r['ci_high'], unit)}"
        else:
            ci = "-"
        title = f"{_num(r['mean']):.6g} {unit}"
        return (f'<tr data-scope="{_e(r["scope"])}" data-metric="{_e(r["metric"])}" '
                f'data-name="{_e(r["name"])}"><th scope="row">{_e(label)}</th>'
                f'<td class="num" title="{_e(title)}">{_e(self.fmt(r["mean"], unit))}</td>'
                f'<td class="num">{_e(ci)}</td>'
                f'<td class="num">{int(n) if math.isfinite(n) else "-"}</td></tr>')

    def _matrix(self, part: pd.DataFrame, columns: list[tuple[str, str]], scope: str,
                caption: str) -> str:
        from revsim.table import _cell

        n_reps = _num(self.m.get("replications"))
        names = list(dict.fromkeys(part["name"]))
        index = {(r["name"], r["metric"]): r for _, r in part.iterrows()}
        present = [(metric, head) for metric, head in columns
                   if any((name, metric) in index for name in names)]
        rows = []
        for name in names:
            cells = []
            for metric, _ in present:
                r = index.get((name, metric))
                if r is None:
                    cells.append('<td class="num"></td>')
                    continue
                text = _cell(r, self.currency)
                n = _num(r["n"])
                if math.isfinite(n) and math.isfinite(n_reps) and n < n_reps:
                    text += f" (n={int(n)})"
                cells.append(f'<td class="num" data-metric="{_e(metric)}">{_e(text)}</td>')
            rows.append(f'<tr data-scope="{scope}" data-name="{_e(name)}">'
                        f'<th scope="row">{_e(name)}</th>{"".join(cells)}</tr>')
        head = [("stage" if scope == "stage" else "pool", "")] + [(h, "num") for _, h in present]
        return _table(head, rows, caption, class_="kpis matrix", data_scope=scope)

    # -- plots of the run -----------------------------------------------------------------------
    def funnel(self) -> _Section | None:
        from revsim import plotting

        assert self.f.kpis is not None
        k = self.f.kpis
        metrics = set(zip(k["scope"], k["metric"], strict=True))
        if not ({("stage", "arrivals"), ("total", "leads_in"), ("total", "won")} <= metrics):
            return None
        stages = self.funnel_stages()
        names = stages or list(dict.fromkeys(self.kpis_scope("stage")["name"]))
        parts = []
        for label, scope, metric, name in (("leads in", "total", "leads_in", ""),
                                           *((s, "stage", "arrivals", s) for s in names),
                                           ("deals won", "total", "won", "")):
            r = self.kpi(scope, metric, name)
            if r is not None:
                parts.append(f"{label} {self.fmt(r['mean'], 'count')}")
        alt = ("Horizontal bar chart of the funnel, mean leads or deals per replication at each "
               "step: " + "; ".join(parts) + ".")
        figure = self.plots.make("funnel", lambda: plotting.plot_funnel(k, stages), alt,
                                 "Arrivals at each sales stage, from leads in to deals won. The "
                                 "percentages compare each bar with the one above it.")
        note = ("" if stages else '<p class="note">The stages before the sale are not known '
                "without the scenario, so every stage is shown.</p>")
        return _Section("funnel", "Funnel", figure + note)

    def stage_time(self) -> _Section | None:
        from revsim import plotting
        from revsim.units import format_duration

        assert self.f.kpis is not None
        k = self.f.kpis
        total = self.kpis_scope("stage")
        total = total[total["metric"] == "time_in_stage_mean"]
        if total.empty:
            return None
        parts = []
        for _, r in total.iterrows():
            wait = self.kpi("stage", "wait_mean", str(r["name"]))
            w = f" (waiting {format_duration(_num(wait['mean']))})" if wait is not None else ""
            parts.append(f"{r['name']} {format_duration(_num(r['mean']))}{w}")
        alt = ("Stacked bar chart of the mean time in each stage, split into waiting for staff "
               "and work and delays: " + "; ".join(parts) + ".")
        figure = self.plots.make(
            "stage-time", lambda: plotting.plot_stage_time(k, self.funnel_stages()), alt,
            "Where the time goes: waiting in a queue for staff (orange) against working time "
            "and the prospect's own delays (blue), in calendar time.")
        return _Section("stage-time", "Time in stage", figure)

    def utilisation(self) -> _Section | None:
        from revsim import plotting

        assert self.f.kpis is not None
        k = self.f.kpis
        util = self.kpis_scope("pool")
        util = util[util["metric"] == "utilisation"]
        if util.empty:
            return None
        parts = [f"{r['name']} {self.fmt(r['mean'], 'share')}" for _, r in util.iterrows()]
        alt = ("Bar chart of staff utilisation by pool (share of working hours busy): "
               + "; ".join(parts) + "; reference lines at 85% and 100%.")
        figure = self.plots.make("utilisation", lambda: plotting.plot_utilisation(k), alt,
                                 "Above about 85% queues grow quickly; at 100% the pool is "
                                 "saturated.")
        return _Section("utilisation", "Staff utilisation", figure)

    def queues(self) -> _Section | None:
        from revsim import plotting
        from revsim.plotting.series_plots import queue_stages

        series = self.f.series
        if series is None or series.empty:
            return None
        stages = queue_stages(series)
        means = []
        for stage in stages:
            values = series.loc[series["variable"] == f"queue:{stage}", "value"]
            if len(values) and float(values.max()) > 0:
                means.append((float(values.mean()), float(values.max()), stage))
        if not means:
            return None
        top = sorted(means, reverse=True)[:MAX_QUEUE_PLOTS]
        order = {s: i for i, s in enumerate(stages)}
        figures = []
        for mean, peak, stage in sorted(top, key=lambda t: order[t[2]]):
            alt = (f"Line chart of the queue at {stage} over time (leads waiting for staff), "
                   f"mean over replications: average {mean:,.1f}, peak {peak:,.0f}.")
            figures.append(self.plots.make(
                f"queue {stage}", partial(plotting.plot_queue, series, stage), alt))
        intro = (f"<p>The {len(top)} longest queue{'s' if len(top) != 1 else ''}, over the whole "
                 "run including the warm-up (shaded band: confidence interval across "
                 "replications). A queue that keeps rising is a sign of a bottleneck.</p>")
        return _Section("queues", "Queues over time", intro + "\n".join(figures))

    # -- bottlenecks ----------------------------------------------------------------------------
    def bottleneck_sentence(self) -> str:
        text = self.f.bottleneck_text
        if not text:
            return ""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def bottlenecks(self) -> _Section | None:
        f = self.f
        if not f.has_bottlenecks:
            return None
        assert f.bottleneck_pools is not None
        from revsim.bottlenecks import _pm

        cur = self.currency
        out = []
        sentence = self.bottleneck_sentence()
        if sentence:
            out.append(f'<p class="answer" id="bottleneck-answer">{_e(sentence)}</p>')
        if f.bottleneck_text:
            out.append(f'<p class="note">From <code>revsim bottlenecks</code>: '
                       f"{_e(f.bottleneck_text.splitlines()[0])}. ± is the 95% CI "
                       "half-width.</p>")
        rows = []
        for rank, (_, r) in enumerate(f.bottleneck_pools.iterrows(), start=1):
            rows.append(
                f'<tr data-pool="{_e(r["pool"])}"><td class="num">{rank}</td>'
                f'<th scope="row">{_e(r["pool"])}</th>'
                f'<td class="num">{_e(_pm(_num(r.get("bottleneck_share")), _num(r.get("bottleneck_share_hw")), "share"))}</td>'  # noqa: E501
                f'<td class="num">{_e(_pm(_num(r.get("utilisation")), _num(r.get("utilisation_hw")), "share"))}</td>'  # noqa: E501
                f'<td class="num">{_e(_pm(_num(r.get("active_period_h")), _num(r.get("active_period_h_hw")), "h"))}</td>'  # noqa: E501
                "</tr>")
        out.append('<h3 id="bottleneck-pools">Pools ranked as the bottleneck</h3>')
        out.append("<p>Bottleneck share: the share of the window in which the pool was saturated "
                   "and had been busy longest (the momentary bottleneck). Mean active period: "
                   "how long a stretch of full occupation lasts.</p>")
        out.append(_table([("rank", "num"), ("pool", ""), ("bottleneck share", "num"),
                           ("utilisation", "num"), ("mean active period", "num")], rows,
                          "Staff pools, most often the bottleneck first",
                          id="bottleneck-ranking"))
        timeline = f.bottleneck_timeline
        if timeline is not None and not timeline.empty:
            out.append('<h3 id="bottleneck-weeks">Week by week</h3>')
            top = (timeline.groupby("pool")["share"].mean().sort_values(ascending=False))
            alt = ("Stacked bar chart of the share of each week in which each pool was the "
                   "bottleneck; on average " + "; ".join(
                       f"{p} {100 * s:.0f}%" for p, s in top.items()) + ".")
            out.append(self.plots.make("bottleneck timeline",
                                       lambda: plot_bottleneck_weeks(timeline), alt,
                                       "Mean over replications; a bar below 100% means that part "
                                       "of the week no pool was saturated."))
        stages = f.bottleneck_stages
        if stages is not None and not stages.empty:
            rows = []
            for _, r in stages.iterrows():
                growing = '<span class="flag">growing</span>' if r.get("growing") else ""
                rows.append(
                    f'<tr data-stage="{_e(r["stage"])}"><th scope="row">{_e(r["stage"])}</th>'
                    f'<td class="num">{_e(_pm(_num(r.get("wait_share")), _num(r.get("wait_share_hw")), "share"))}</td>'  # noqa: E501
                    f'<td class="num">{_e(_pm(_num(r.get("queue_mean")), _num(r.get("queue_mean_hw")), "count"))}</td>'  # noqa: E501
                    f'<td class="num">{_e(_pm(_num(r.get("queue_trend")), _num(r.get("queue_trend_hw")), "count"))}</td>'  # noqa: E501
                    f"<td>{growing}</td></tr>")
            out.append('<h3 id="bottleneck-stages">Where leads wait</h3>')
            out.append(_table([("stage", ""), ("waiting share", "num"), ("queue, mean", "num"),
                               ("queue trend per week", "num"), ("", "")], rows,
                              "Waiting share: share of all time in stages spent queueing at "
                              "this stage. Growing: a significant upward trend with more "
                              "arriving than leaving."))
        marginal = f.marginal
        if marginal is not None and not marginal.empty:
            out.append('<h3 id="marginal-values">Value of one more head</h3>')
            out += self._marginal(marginal, cur)
        return _Section("bottlenecks", "Bottlenecks", "\n".join(out))

    def _marginal(self, marginal: pd.DataFrame, cur: str) -> list[str]:
        from revsim import plotting

        out = ["<p>Each pool rerun with one more head, paired with the base run (common random "
               "numbers). Counts and money are per year; greyed differences are not "
               "significant (p ≥ 0.05).</p>"]
        metric = "bookings" if "bookings" in set(marginal["metric"]) else str(
            marginal["metric"].iloc[0])
        rows_m = marginal[marginal["metric"] == metric]
        alt = (f"Bar chart of the change in {_label(metric)} per year from one more head in "
               "each pool: " + "; ".join(
                   f"+1 {r['pool']} {_signed(_num(r['diff']), str(r['unit']), cur)}"
                   + ("" if r["significant"] else " (not significant)")
                   for _, r in rows_m.iterrows()) + ".")
        out.append(self.plots.make("marginal value",
                                   lambda: plotting.plot_tornado(marginal, metric, cur), alt,
                                   "Whiskers: 95% CI of the paired difference; grey bars are "
                                   "not significant. Right: return on the head's cost and "
                                   "payback, where the pool has a cost per head."))
        present = list(dict.fromkeys(marginal["metric"]))
        metrics = [m for m in MARGINAL_HEADS if m in present] + [
            m for m in present if m not in MARGINAL_HEADS]
        rows = []
        for pool, g in marginal.groupby("pool", sort=False):
            by_metric = {str(r["metric"]): r for _, r in g.iterrows()}
            cells = []
            for m in metrics:
                r = by_metric.get(m)
                if r is None:
                    cells.append('<td class="num"></td>')
                    continue
                unit = str(r["unit"])
                diff = _signed(_num(r["diff"]), unit, cur)
                half = format_value(_num(r["half_width"]), unit, cur)
                cls = "num sig" if r["significant"] else "num ns"
                cells.append(f'<td class="{cls}">{_e(diff)}<br>'
                             f'<span class="hw">±{_e(half)}</span></td>')
            first = g.iloc[0]
            roi, payback = _num(first.get("roi")), _num(first.get("payback_months"))
            cells.append(f'<td class="num">{f"{roi:+.0%}" if math.isfinite(roi) else "-"}</td>')
            cells.append(f'<td class="num">{f"{payback:.1f} mo" if math.isfinite(payback) else "-"}'
                         "</td>")
            rows.append(f'<tr data-pool="{_e(pool)}"><th scope="row">+1 {_e(pool)}</th>'
                        f'{"".join(cells)}</tr>')
        head = [("one more", "")] + [
            (MARGINAL_HEADS.get(m, _label(m)) + (" /yr" if self._per_year(marginal, m) else ""),
             "num") for m in metrics] + [("ROI", "num"), ("payback", "num")]
        out.append(_table(head, rows, "Difference vs base ± 95% CI half-width, ranked by "
                          "bookings gained; /yr = per year", id="marginal-table"))
        return out

    @staticmethod
    def _per_year(marginal: pd.DataFrame, metric: str) -> bool:
        if "per_year" not in marginal.columns:
            return False
        return bool(marginal.loc[marginal["metric"] == metric, "per_year"].all())

    # -- cash -----------------------------------------------------------------------------------
    def cash(self) -> _Section | None:
        from revsim import plotting

        if self.f.kpis is None or self.kpis_scope("cash").empty:
            return None
        cur = self.currency
        out = []
        series = self.f.series
        if series is not None and "bookings" in set(series["variable"]):
            ends = []
            last = series[series["t_hours"] == series["t_hours"].max()]
            for variable in ("bookings", "invoiced", "collected"):
                values = last.loc[last["variable"] == variable, "value"]
                if len(values):
                    ends.append(f"{variable} {format_value(float(values.mean()), cur, cur)}")
            alt = ("Line chart of cumulative bookings, invoiced and cash collected over the run, "
                   "mean over replications with confidence bands; at the end: "
                   + "; ".join(ends) + ".")
            out.append('<h3 id="cash-curve">Bookings against cash collected</h3>')
            out.append(self.plots.make("cash curve",
                                       lambda: plotting.plot_cash_curve(series, cur), alt,
                                       "Cumulative from the start of the run (including the "
                                       "warm-up). The gap between the lines is money booked or "
                                       "invoiced but not yet collected."))
        aging = [self.kpi("cash", m) for m in ("ar_current", "ar_1_30", "ar_31_60", "ar_61_90",
                                                 "ar_90_plus")]
        if all(r is not None for r in aging):
            labels = ("not yet due", "1-30 days past due", "31-60 days", "61-90 days",
                      "over 90 days")
            alt = ("Bar chart of accounts receivable at the end of the run by days past due: "
                   + "; ".join(f"{lab} {self.fmt(r['mean'], cur)}"
                               for lab, r in zip(labels, aging, strict=True) if r is not None)
                   + ".")
            k = self.f.kpis
            out.append('<h3 id="ar-aging">Receivables aging</h3>')
            out.append(self.plots.make("AR aging", lambda: plotting.plot_ar_aging(k, cur), alt,
                                       "Unpaid invoices at the end of the run, by how far past "
                                       "their due date they are."))
        if not out:
            return None
        return _Section("cash", "Cash", "\n".join(out))

    # -- comparison -----------------------------------------------------------------------------
    def comparison(self) -> _Section | None:
        from revsim import plotting
        from revsim.comparison import HEADLINE as CMP_HEADLINE

        table = self.f.comparison
        if table is None or table.empty:
            return None
        cur = self.currency
        variants = list(dict.fromkeys(table["variant"]))
        keys = {(m, s, n) for m, s, n in CMP_HEADLINE}
        head_rows = table[[(m, s, n) in keys for m, s, n in
                           zip(table["metric"], table["scope"], table["name"], strict=True)]]
        order = {k: i for i, k in enumerate(CMP_HEADLINE)}
        out = [f"<p>{len(variants)} variant{'s' if len(variants) != 1 else ''} against the base "
               "scenario, paired by replication (common random numbers). diff = variant − base "
               "with a 95% CI; significant after Holm's correction across the variants.</p>"]
        sig = head_rows[head_rows["significant"]]
        alt_parts = [f"{r['variant']}: {_label(str(r['metric']))} "
                     f"{_signed(_num(r['diff']), str(r['unit']), cur)}"
                     for _, r in sig.iterrows()]
        alt = ("Forest plot of the relative difference of the headline KPIs, each variant "
               "against the base, with confidence intervals; "
               + ("significant: " + "; ".join(alt_parts) if alt_parts
                  else "no difference is significant") + ".")
        out.append(self.plots.make("comparison", lambda: plotting.plot_forest(table), alt,
                                   "Points: mean difference as % of the base mean; whiskers: "
                                   "95% CI; grey: not significant."))
        groups = []
        for variant in variants:
            rows = []
            part = head_rows[head_rows["variant"] == variant]
            part = part.iloc[sorted(range(len(part)), key=lambda i: order[(
                part["metric"].iloc[i], part["scope"].iloc[i], part["name"].iloc[i])])]
            for _, r in part.iterrows():
                if not math.isfinite(_num(r["diff"])):
                    continue
                unit = str(r["unit"])
                ci = (f"{_signed(_num(r['ci_low']), unit, cur)} to "
                      f"{_signed(_num(r['ci_high']), unit, cur)}"
                      if math.isfinite(_num(r["ci_low"])) else "-")
                p = _num(r.get("p_adjusted"))
                cls = "num sig" if r["significant"] else "num ns"
                rows.append(
                    f'<tr data-variant="{_e(variant)}" data-metric="{_e(r["metric"])}">'
                    f"<th scope=\"row\">{_e(_label(str(r['metric'])))}</th>"
                    f'<td class="num">{_e(format_value(_num(r["base_mean"]), unit, cur))}</td>'
                    f'<td class="num">{_e(format_value(_num(r["variant_mean"]), unit, cur))}</td>'
                    f'<td class="{cls}">{_e(_signed(_num(r["diff"]), unit, cur))}</td>'
                    f'<td class="num">{_e(ci)}</td>'
                    f'<td class="num">{f"{p:.3g}" if math.isfinite(p) else "-"}</td>'
                    f'<td>{"yes" if r["significant"] else "no"}</td></tr>')
            groups.append(f'<tbody><tr class="group"><th colspan="7" scope="rowgroup">'
                          f"{_e(variant)}</th></tr>\n" + "\n".join(rows) + "</tbody>")
        out.append('<h3 id="comparison-table">Headline differences</h3>')
        heads = "".join(f'<th scope="col"{_attrs({"class_": c or None})}>{_e(t)}</th>'
                        for t, c in (("KPI", ""), ("base", "num"), ("variant", "num"),
                                     ("diff", "num"), ("95% CI of diff", "num"),
                                     ("p (Holm)", "num"), ("significant", "")))
        out.append('<div class="table-wrap"><table id="comparison-headline" class="kpis">'
                   "<caption>Headline KPIs of each variant against the base; bold: "
                   f"significant</caption><thead><tr>{heads}</tr></thead>\n"
                   + "\n".join(groups) + "</table></div>")
        out.append('<p class="note">Every KPI of every variant is in '
                   "<code>comparison.csv</code>.</p>")
        return _Section("comparison", "Comparison with variants", "\n".join(out))

    # -- scenario source ------------------------------------------------------------------------
    def scenario_source(self) -> _Section | None:
        text = self.f.scenario_text
        if text is None:
            return None
        lines = text.count("\n") + 1
        body = ("<p>The scenario exactly as it was run (a copy of <code>scenario.toml</code> "
                "from the results folder), so the run can be reproduced from this report alone."
                f"</p><details><summary>Show scenario.toml ({lines} lines)</summary>"
                f'<pre class="source" id="scenario-source"><code>{_e(text)}</code></pre>'
                "</details>")
        return _Section("scenario-file", "Scenario file", body)

    # -- sweeps ---------------------------------------------------------------------------------
    def sweep_settings(self) -> _Section:
        m = self.m
        items = [("Sweep spec hash", f"<code>{_e(m.get('spec_hash'))}</code>"),
                 ("Design", _e(m.get("design", "-"))),
                 ("Points", _e(len(m.get("points", [])))),
                 ("Replications per point", _e(m.get("replications", "-"))),
                 ("Seed", _e(m.get("seed", "-"))),
                 ("Horizon", _e(self._hours_text(m.get("horizon_hours")))
                  if m.get("horizon_hours") is not None else "the scenario's"),
                 ("Warm-up", _e(self._hours_text(m.get("warmup_hours")))
                  if m.get("warmup_hours") is not None else "the scenario's"),
                 ("Replication seeds", _e(m.get("replication_seeds", "-"))),
                 ("revsim version", _e(m.get("revsim_version", "-")))]
        failed = self.f.path / "failed"
        body = _dl(items)
        if failed.is_dir() and any(failed.glob("*.json")):
            count = len(list(failed.glob("*.json")))
            body += (f'<p class="warning">{count} task{"s" if count != 1 else ""} of this sweep '
                     "failed; their points have fewer replications (see n).</p>")
        return _Section("run", "Sweep settings", body)

    def _sweep_params(self) -> list[str]:
        summary = self.f.sweep_summary
        assert summary is not None
        cols = list(summary.columns)
        try:
            params = cols[cols.index("label") + 1: cols.index("metric")]
        except ValueError:
            return []
        # the order of the design (as in the point labels), not the table's alphabetical one
        order: list[str] = []
        for point in self.m.get("points", []):
            order += [k for k in (point.get("changes") or {}) if k not in order]
        return [p for p in order if p in params] + [p for p in params if p not in order]

    def reproduce_sweep(self) -> _Section:
        m = self.m
        points = m.get("points", [])
        params: dict[str, list[Any]] = {}
        for p in points:
            for path, value in (p.get("changes") or {}).items():
                params.setdefault(path, [])
                if value not in params[path]:
                    params[path].append(value)
        args = ["revsim", "sweep", "BASE_SCENARIO.toml"]
        exact = m.get("design", "grid") == "grid" and all(
            isinstance(v, (int, float, bool, str)) and not (isinstance(v, str) and "," in v)
            for values in params.values() for v in values)
        for path, values in params.items():
            args += ["--param", f"{path}=" + ",".join(_param_text(v) for v in values)]
        args += ["-n", str(m.get("replications")), "--seed", str(m.get("seed"))]
        for key, flag in (("horizon_hours", "--horizon"), ("warmup_hours", "--warmup")):
            h = _num(m.get(key))
            if math.isfinite(h):
                args += [flag, _duration_arg(h)]
        args += ["-o", self.f.path.name or "sweep"]
        notes = ["The sweep's manifest does not record the base scenario file: replace "
                 "<code>BASE_SCENARIO.toml</code> with it. The spec hash above must match the "
                 "new folder's manifest.json."]
        if not exact:
            notes.append("This design cannot be written as <code>--param</code> flags exactly "
                         "(a Latin hypercube, named variants or table values); its points, with "
                         "every change, are listed in <code>manifest.json</code>.")
        body = ["<p>The command that reproduces this sweep:</p>",
                f'<pre class="reproduce" id="reproduce-command"><code>{_e(shlex.join(args))}'
                "</code></pre>", *[f'<p class="note">{n}</p>' for n in notes]]
        return _Section("reproduce", "Reproduce", "\n".join(body))

    def sweep_metric(self) -> tuple[str, str] | None:
        summary = self.f.sweep_summary
        assert summary is not None
        for scope, metric in (("cash", "cash_collected"), ("total", "bookings"),
                              ("total", "won")):
            sel = summary[(summary["scope"] == scope) & (summary["metric"] == metric)
                          & (summary["name"] == "")]
            if not sel.empty and (sel["mean"].fillna(0) != 0).any():
                return scope, metric
        return None

    def sweep(self) -> _Section:
        summary = self.f.sweep_summary
        assert summary is not None
        params = self._sweep_params()
        points = list(dict.fromkeys(summary["point"]))
        totals = summary[summary["name"] == ""]
        index = {(r["point"], r["scope"], r["metric"]): r for _, r in totals.iterrows()}
        labels = dict(zip(summary["point"], summary["label"], strict=True))
        money = [u for u in summary["unit"].unique() if u not in
                 {"count", "h", "d", "share", "per week", "staff-h", ""}]
        cur = str(money[0]) if money else "USD"
        self.currency = cur
        columns = [(s, m) for s, m in SWEEP_COLUMNS if any((p, s, m) in index for p in points)]
        main = self.sweep_metric()
        out = [f"<p>{len(points)} points. Each cell: mean ± 95% CI half-width over the "
               "replications of the point; every point uses the same random streams (common "
               "random numbers), so differences between points are not noise from the seed.</p>"]
        if main is not None:
            out.append(self._sweep_plot(summary, main, params, cur))
        rows = []
        staff = "staff_cost" in summary.columns
        for p in points:
            first = summary[summary["point"] == p].iloc[0]
            keys = [_param_cell(first[c]) for c in params] or [str(labels[p])]
            cells = f'<th scope="row">{_e(keys[0])}</th>' + "".join(
                f"<td>{_e(k)}</td>" for k in keys[1:])
            for scope, metric in columns:
                r = index.get((p, scope, metric))
                if r is None:
                    cells += '<td class="num"></td>'
                    continue
                text = format_value(_num(r["mean"]), str(r["unit"]), cur)
                hw = _num(r.get("half_width"))
                if math.isfinite(hw):
                    text += f" ±{format_value(hw, str(r['unit']), cur)}"
                cells += f'<td class="num">{_e(text)}</td>'
            if staff:
                cells += f'<td class="num">{_e(format_value(_num(first["staff_cost"]), cur, cur))}</td>'
            n = _num(first.get("n"))
            cells += f'<td class="num">{int(n) if math.isfinite(n) else "-"}</td>'
            rows.append(f'<tr data-point="{_e(p)}" title="{_e(labels[p])}">{cells}</tr>')
        head = (([(_short_path(c), "") for c in params] or [("point", "")])
                + [(_label(m), "num") for _, m in columns]
                + ([("staff cost per year", "num")] if staff else []) + [("n", "num")])
        out.append('<h3 id="sweep-points">Points</h3>')
        out.append(_table(head, rows, "Every point of the sweep; all KPIs of every point are in "
                          "summary.parquet", id="sweep-table"))
        return _Section("sweep", "Sweep results", "\n".join(out))

    def _sweep_plot(self, summary: pd.DataFrame, main: tuple[str, str], params: list[str],
                    cur: str) -> str:
        """The main KPI against the swept parameters (revsim.sweep.plots.plot_param), or by
        point for named variants; plus staff cost against it when the cost varies."""
        scope, metric = main
        sel = summary[(summary["scope"] == scope) & (summary["metric"] == metric)
                      & (summary["name"] == "")]
        best = sel.sort_values("mean", ascending=False).iloc[0]
        worst = sel.sort_values("mean").iloc[0]
        unit = str(sel["unit"].iloc[0])
        extremes = (f"highest at {best['label']} "
                    f"({format_value(_num(best['mean']), unit, cur)}), lowest at "
                    f"{worst['label']} ({format_value(_num(worst['mean']), unit, cur)})")
        x_param = _x_param(sel, params) if self.m.get("design") != "variants" else None
        draw: Callable[[], Axes]
        if x_param is not None:
            from revsim.sweep.plots import plot_param

            others = [p for p in params if p != x_param]
            alt = (f"Line chart of {_label(metric)} against {x_param}"
                   + (f", one line per value of {', '.join(others)}" if others else "")
                   + f", with 95% confidence bands; {extremes}.")
            draw = partial(plot_param, summary, metric, x_param, scope=scope)
        else:
            alt = (f"Dot chart of {_label(metric)} at each point of the sweep with 95% "
                   f"confidence intervals, best first; {extremes}.")
            draw = partial(plot_sweep_points, sel, metric, cur)
        out = [self.plots.make("sweep", draw, alt,
                               f"The main KPI, {_label(metric)}, across the sweep; bands or "
                               "whiskers: 95% CI over replications.")]
        if "staff_cost" in sel.columns and sel["staff_cost"].nunique() > 1:
            from revsim.sweep.plots import plot_pareto

            cheapest = sel.sort_values("staff_cost").iloc[0]
            alt = (f"Scatter chart of staff cost per year against {_label(metric)} for every "
                   f"point, the Pareto front highlighted; cheapest point {cheapest['label']} "
                   f"({format_value(_num(cheapest['staff_cost']), cur, cur)} a year); "
                   f"{extremes}.")
            out.append(f'<h3 id="sweep-cost">Staff cost against {_e(_label(metric))}</h3>')
            out.append(self.plots.make(
                "cost", partial(plot_pareto, summary, metric, scope=scope), alt,
                "Points on the front are the cheapest way to reach their result; a point "
                "right of the front costs more for no more."))
        return "\n".join(out)


def _x_param(rows: pd.DataFrame, params: Sequence[str]) -> str | None:
    """The parameter for the x axis: the numeric one with the most levels, else the first."""
    if not params:
        return None
    numeric = [p for p in params
               if pd.to_numeric(rows[p], errors="coerce").notna().all()
               and not pd.api.types.is_bool_dtype(rows[p])]
    pool = numeric or list(params)
    return max(pool, key=lambda p: rows[p].nunique())


def _short_path(path: str) -> str:
    """A swept path as in the point labels: pools.sdr.headcount -> sdr.headcount."""
    return path.split(".", 1)[-1] if path.count(".") > 1 else path


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _param_cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return str(value)


# -- plots that revsim.plotting does not have -------------------------------------------------------
def plot_bottleneck_weeks(timeline: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Share of each week in which each pool was the momentary bottleneck (stacked bars)."""
    from revsim.plotting._common import finish, legend_below, new_axes, percent_formatter

    wide = timeline.pivot_table(index="week_start", columns="pool", values="share",
                                aggfunc="mean").fillna(0.0).sort_index()
    if wide.empty:
        raise ValueError("the bottleneck timeline is empty")
    order = wide.mean().sort_values(ascending=False).index
    wide = wide[order]
    if ax is None:
        ax = new_axes((9, 4.2))
    colours = ["#3b6fb6", "#e08a1e", "#3a9a5b", "#c8412c", "#7b5ea7", "#8c6d31", "#5b6472"]
    bottom = np.zeros(len(wide))
    x = np.arange(len(wide))
    for i, pool in enumerate(wide.columns):
        values = wide[pool].to_numpy(float)
        ax.bar(x, values, bottom=bottom, width=0.85, color=colours[i % len(colours)],
               label=str(pool))
        bottom += values
    step = max(1, len(wide) // 10)
    ax.set_xticks(x[::step], [pd.Timestamp(t).strftime("%d %b") for t in wide.index[::step]])
    ax.set_ylim(0, 1.0)
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_xlabel("week starting (simulated calendar)")
    ax.set_ylabel("share of the week")
    legend_below(ax, ncols=min(len(wide.columns), 5))
    finish(ax, "Which pool was the bottleneck, week by week",
           "momentary bottleneck: saturated and busy longest; mean over replications")
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_sweep_points(rows: pd.DataFrame, metric: str, currency: str = "USD",
                      ax: Axes | None = None) -> Axes:
    """One KPI at each point of a sweep (one row per point, best first) with CI whiskers."""
    from revsim.plotting._common import CI_STYLE, finish, kpi_label, new_axes, unit_axis, whiskers

    unit = str(rows["unit"].iloc[0])
    mean = rows["mean"].to_numpy(float)
    order = np.argsort(-mean, kind="stable")[:MAX_SWEEP_PLOT_POINTS]
    part = rows.iloc[order]
    pm = part["mean"].to_numpy(float)
    low, high = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
    scale, fmt, unit_text = unit_axis(unit, np.concatenate([pm, low, high]), currency)
    err = whiskers(pm, low, high)
    if ax is None:
        ax = new_axes((9, 1.8 + 0.32 * len(part)))
    y = np.arange(len(part), dtype=float)
    ax.set_yticks(y, [str(v) for v in part["label"]])
    ax.set_ylim(len(part) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.errorbar(pm / scale, y, xerr=err / scale, **{**CI_STYLE, "fmt": "o", "color": "#3b6fb6"})
    ax.xaxis.set_major_formatter(fmt)
    label = kpi_label(metric)
    ax.set_xlabel(f"{label} ({unit_text})")
    ax.set_ylabel("point")
    shown = "" if len(rows) <= MAX_SWEEP_PLOT_POINTS else \
        f"; the best {MAX_SWEEP_PLOT_POINTS} of {len(rows)} points"
    finish(ax, f"{label.capitalize()} by sweep point",
           f"mean per point, best first; whiskers: 95% CI{shown}")
    ax.grid(axis="x", alpha=0.3)
    return ax


# -- public API -----------------------------------------------------------------------------------
def render_html(folder: str | Path | ResultsFolder) -> str:
    """The report of a results folder as one self-contained HTML5 document (a string)."""
    results = folder if isinstance(folder, ResultsFolder) else read_results(folder)
    return _Report(results).html()


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of ``folder`` to ``out`` (default ``folder/report.html``), atomically;
    returns the path written."""
    from revsim.results import _atomic_text

    text = render_html(folder)
    target = Path(out) if out is not None else Path(folder) / "report.html"
    if target.parent and not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
    return _atomic_text(text, target)


__all__ = ["Figure", "ReportError", "ResultsFolder", "plot_bottleneck_weeks", "plot_sweep_points",
           "read_results", "render_html", "write_report"]
