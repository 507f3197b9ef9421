"""Reading a results folder for a report: :func:`read_results` and :class:`ResultsFolder`.

A run folder is what ``revsim run SCENARIO -o DIR`` writes (kpis.csv, series.csv, manifest.json,
scenario.toml), optionally with the files of ``revsim bottlenecks ... -o DIR`` and
``revsim compare ... -o DIR`` beside them; a sweep folder is what ``revsim sweep ... -o DIR``
writes (manifest.json with a spec_hash, summary.parquet).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from revsim.errors import Problem, ProblemsError
from revsim.io import PENDING_SUFFIX, sha256_file, unguard_formulas

RUN_FILES = ("kpis.csv", "manifest.json")
SWEEP_FILES = ("manifest.json", "summary.parquet")
KPI_COLUMNS = ("metric", "scope", "name", "unit", "mean", "ci_low", "ci_high", "half_width", "n")
# Files of the other commands that may sit in a run's folder.
BOTTLENECK_FILES = ("bottleneck_pools.csv", "bottleneck_stages.csv", "bottleneck_timeline.csv",
                    "marginal_values.csv", "bottlenecks.txt")
COMPARISON_FILES = ("comparison.csv", "kpis_base.csv")
FORECAST_FILES = ("forecast.csv", "forecast_manifest.json")  # revsim forecast ... -o DIR
# Each command's manifest in a run folder, and the file that says its files are there.
MANIFESTS = {"manifest.json": "revsim run", "bottlenecks_manifest.json": "revsim bottlenecks",
             "comparison_manifest.json": "revsim compare",
             "forecast_manifest.json": "revsim forecast",
             "plots_manifest.json": "the command with --plots"}
EXTRA_MARKERS = {"bottlenecks_manifest.json": "bottleneck_pools.csv",
                 "comparison_manifest.json": "comparison.csv",
                 "forecast_manifest.json": "forecast.csv"}
# What a sweep folder holds besides its manifest (tables, the store's parts and lock).
SWEEP_OWN = ("results.parquet", "summary.parquet", "results.csv", "summary.csv", "parts",
             "failed")


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
    forecast: pd.DataFrame | None = None
    forecast_replications: pd.DataFrame | None = None
    forecast_targets: pd.DataFrame | None = None
    forecast_manifest: dict[str, Any] | None = None
    sweep_summary: pd.DataFrame | None = None
    files: list[str] = field(default_factory=list)
    # files in the folder that no manifest there names: shown as such, never read
    foreign: list[str] = field(default_factory=list)

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
    if manifest is None and (path / f".manifest.json{PENDING_SUFFIX}").is_file():
        raise ReportError([Problem("", "an interrupted `revsim run -o` left this folder "
                                   "without its manifest; run it again to complete it")], source)
    if manifest is not None and "spec_hash" in manifest:
        missing = [f for f in SWEEP_FILES if not (path / f).is_file()]
        if missing:
            raise ReportError([Problem("", f"a sweep folder without {', '.join(missing)}: the "
                                       "sweep has not finished; run `revsim sweep ... --resume` "
                                       "to complete it")], source)
        return _read_sweep(path, manifest)
    missing = [f for f in RUN_FILES if not (path / f).is_file()]
    has_forecast = all((path / f).is_file() for f in FORECAST_FILES)
    if missing and has_forecast and not (path / "kpis.csv").is_file():
        result = ResultsFolder(path, "forecast", _read_manifest(path, "forecast_manifest.json"))
        owned = _check_files(path, None)
        _read_forecast(path, result)
        _list_files(result, owned)
        return result
    if missing:
        found = [f for f in (*BOTTLENECK_FILES, *COMPARISON_FILES) if (path / f).is_file()]
        hint = (f"; it holds {', '.join(found)}, so also write the base run there with "
                f"`revsim run SCENARIO -o {path}`" if found else
                f"; write one with `revsim run SCENARIO -o {path}`")
        raise ReportError([Problem("", f"not a revsim results folder: missing "
                                   f"{', '.join(missing)}{hint}")], source)
    assert manifest is not None
    result = ResultsFolder(path, "run", manifest)
    owned = _check_files(path, manifest)
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
    if (path / "bottleneck_pools.csv").is_file() and "bottlenecks_manifest.json" in owned:
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
    if (path / "comparison.csv").is_file() and "comparison_manifest.json" in owned:
        result.comparison = _read_table(
            path / "comparison.csv", ("variant", "metric", "scope", "name", "unit", "base_mean",
                                      "variant_mean", "diff", "ci_low", "ci_high"),
            text={"variant", "metric", "scope", "name", "unit"}, flags={"significant"})
        if (path / "kpis_base.csv").is_file():
            result.comparison_base = _read_table(path / "kpis_base.csv", KPI_COLUMNS,
                                                 text={"metric", "scope", "name", "unit"})
    if has_forecast and "forecast_manifest.json" in owned:
        _read_forecast(path, result)
    _list_files(result, owned)
    return result


def _read_forecast(path: Path, result: ResultsFolder) -> None:
    """The files of ``revsim forecast ... -o DIR`` into ``result``."""
    text = {"period", "first_day", "last_day", "metric", "label", "unit"}
    result.forecast = _read_table(path / "forecast.csv", ("period", "metric", "unit", "mean",
                                                          "p10", "p50", "p90"), text=text)
    result.forecast_manifest = _read_manifest(path, "forecast_manifest.json")
    if (path / "forecast_replications.csv").is_file():
        result.forecast_replications = _read_table(
            path / "forecast_replications.csv", ("replication", "metric", "name", "value"),
            text={"metric", "scope", "name", "unit"})
    if (path / "forecast_targets.csv").is_file():
        result.forecast_targets = _read_table(
            path / "forecast_targets.csv", ("target", "period", "p_met"),
            text={"target", "metric", "threshold_text", "kind", "period"})


def _list_files(result: ResultsFolder, owned: set[str]) -> None:
    """The folder's files (hidden ones and reports aside), and those no manifest names."""
    path = result.path
    names = sorted(p.name for p in path.iterdir()
                   if not p.name.startswith(".") and p.suffix != ".html")
    result.files = [n for n in names if (path / n).is_file()]
    # folders are the user's (a plots folder inside, say); loose files are what could mislead
    result.foreign = [n for n in result.files if n not in owned]


def _check_files(path: Path, manifest: dict[str, Any] | None) -> set[str]:
    """Every file the run folder's manifests name, each checked against its SHA-256; raise
    naming every damaged or missing one, and every command's files left without their
    manifest by an interrupted write. Returns the names the manifests account for."""
    problems: list[Problem] = []
    owned: set[str] = set()
    for name, command in MANIFESTS.items():
        data = manifest if name == "manifest.json" else (
            _read_manifest(path, name) if (path / name).is_file() else None)
        if data is None:
            marker = EXTRA_MARKERS.get(name)
            if marker and (path / marker).is_file():
                problems.append(Problem(marker, f"has no {name} beside it (an interrupted "
                                        f"`{command} -o`?); run it again to complete it"))
            continue
        owned.add(name)
        owned |= _verified(path, name, command, data, problems)
    if problems:
        raise ReportError(problems, str(path))
    return owned


def _verified(path: Path, name: str, command: str, manifest: dict[str, Any],
              problems: list[Problem]) -> set[str]:
    files = manifest.get("files")
    if not isinstance(files, dict):  # written by a revsim that kept no checksums
        known = {"manifest.json": (*RUN_FILES, "summary.csv", "series.csv", "visits.csv",
                                   "scenario.toml"),
                 "bottlenecks_manifest.json": BOTTLENECK_FILES,
                 "comparison_manifest.json": COMPARISON_FILES,
                 "forecast_manifest.json": (*FORECAST_FILES, "forecast_replications.csv",
                                            "forecast_targets.csv")}.get(name, ())
        return {n for n in known if (path / n).is_file()} | (
            {p.name for p in path.glob("kpis_variant*.csv")}
            if name == "comparison_manifest.json" else set())
    for file, digest in sorted(files.items()):
        target = path / str(file)
        if "/" in str(file) or not target.is_file():
            problems.append(Problem(str(file), f"named in {name} but missing; run `{command}` "
                                    "again to rewrite the folder"))
        elif sha256_file(target) != digest:
            problems.append(Problem(str(file), f"does not match its checksum in {name} "
                                    f"(altered, or left by another run); run `{command}` "
                                    "again to rewrite it"))
    return {str(f) for f in files}


def _read_manifest(path: Path, name: str = "manifest.json") -> dict[str, Any]:
    target = path / name
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReportError([Problem(name, f"cannot read it: {err}")], str(path)) from None
    if not isinstance(data, dict):
        raise ReportError([Problem(name, "expected a JSON object")], str(path))
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
    "NA" survives; quoted formulas as they were, see revsim.io.guard_formulas), ``flags``
    become booleans, every other column becomes numeric."""
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
            frame[column] = unguard_formulas(frame[column].astype(str))
        elif column in flag_set:
            frame[column] = frame[column].str.strip().str.lower().isin(("true", "1"))
        else:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _read_sweep(path: Path, manifest: dict[str, Any]) -> ResultsFolder:
    result = ResultsFolder(path, "sweep", manifest)
    problems: list[Problem] = []
    owned = {"manifest.json", *SWEEP_OWN}
    tables = manifest.get("tables")
    if isinstance(tables, dict):  # the tables' checksums, recorded when they were written
        _verified(path, "manifest.json", "revsim sweep ... --resume", {"files": tables},
                  problems)
    plots = "plots_manifest.json"
    if (path / plots).is_file():  # the sweep's --plots written into its own folder
        owned |= {plots} | _verified(path, plots, MANIFESTS[plots], _read_manifest(path, plots),
                                     problems)
    if problems:
        raise ReportError(problems, str(path))
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
    _list_files(result, owned)
    return result



__all__ = ["BOTTLENECK_FILES", "COMPARISON_FILES", "FORECAST_FILES", "KPI_COLUMNS", "RUN_FILES",
           "SWEEP_FILES", "ReportError", "ResultsFolder", "read_results"]
