"""What every section of a report reads: the folder, its scenario, the currency and KPI lookups.

:class:`_ReportBase` holds that state; the section mixins (:mod:`revsim.report.sections`,
:mod:`revsim.report.extras`, :mod:`revsim.report.sweep`) build on it and
:class:`revsim.report.html._Report` combines them into the page.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from revsim.kpi_registry import PLAIN_UNITS, format_value
from revsim.report.figures import _Plots
from revsim.report.markup import _duration_arg, _num
from revsim.report.read import ResultsFolder
from revsim.scenario.compile import compile_scenario
from revsim.scenario.load import parse_toml, scenario_hash
from revsim.units import format_duration


@dataclass
class _Section:
    id: str
    title: str
    body: str


class _ReportBase:
    def __init__(self, folder: ResultsFolder) -> None:
        self.f = folder
        self.m = folder.manifest
        self.plots = _Plots()
        self.scenario: dict[str, Any] = {}
        self.model: Any = None  # the engine model of scenario.toml, when it compiles
        self.model_hash: str | None = None
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
            raw = parse_toml(text, "scenario.toml")
            self.model, _warnings = compile_scenario(raw, "scenario.toml")
            self.model_hash = scenario_hash(raw)
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
            money = [u for u in self.f.kpis["unit"].unique() if u not in PLAIN_UNITS]
            if money:
                return str(money[0])
        return "USD"

    def funnel_stages(self) -> list[str] | None:
        """The stages before the sale (the funnel) when the scenario compiles, else None."""
        if self.model is None:
            return None
        model = self.model
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

    # -- shared by several sections ----------------------------------------------------------------
    def _scenario_name(self) -> str:
        name = self.m.get("scenario_name") or self._scenario_field("name")
        return str(name) if name else ""

    def _confidence(self) -> str:
        conf = _num(self.m.get("confidence", 0.95))
        return f"{conf:.0%}" if math.isfinite(conf) else "95%"

    def _hours_text(self, hours: Any) -> str:
        h = _num(hours)
        if not math.isfinite(h):
            return "-"
        arg, human = _duration_arg(h), format_duration(h)
        return arg if arg == human else f"{arg} ({human})"

    def bottleneck_sentence(self) -> str:
        text = self.f.bottleneck_text
        if not text:
            return ""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""
