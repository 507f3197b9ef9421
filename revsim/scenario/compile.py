"""Turn a raw scenario mapping into a :class:`Model`, collecting every problem on the way."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from revsim.distributions import Distribution, hyperexponential
from revsim.errors import Problem, ScenarioError, suggest
from revsim.limits import HOURS_PER_YEAR, MAX_ATTRITION_PER_DAY, MAX_HEADCOUNT, MAX_HORIZON_YEARS
from revsim.scenario import schema as S
from revsim.scenario.compile_calendar import ALWAYS_OPEN, CalendarError, calendar_from_text
from revsim.scenario.compile_cash import CashCompiler
from revsim.scenario.model import (
    DECAY_CURVES,
    NURTURE,
    TERMINAL_CODES,
    CalendarModel,
    HireModel,
    Model,
    NurtureModel,
    PoolModel,
    Routing,
    SourceModel,
    StageModel,
)
from revsim.scenario.model_checks import capacity_warnings, window_problems
from revsim.scenario.route_graph import route_graph_problems
from revsim.scenario.validate import ScenarioValidator
from revsim.units import format_duration

ROUTE_TOLERANCE = 1e-6


class _Compiler(ScenarioValidator):
    def __init__(self, raw: Mapping[str, Any]) -> None:
        super().__init__(raw)
        self.sales_stages: tuple[int, ...] = ()

    # -- whole model -----------------------------------------------------------------------
    def compile(self) -> Model | None:
        parsed = self.validate_sections()
        meta: S.Meta | None = parsed.get("scenario")
        stage_names = list(self._names("stages"))
        pool_names = list(self._names("pools"))
        segment_names = list(self._names("segments"))
        stage_idx = {n: i for i, n in enumerate(stage_names)}
        targets = {**{n: i for n, i in stage_idx.items()}, **TERMINAL_CODES}
        for name in stage_names:
            if name in TERMINAL_CODES:
                self.fail(f"stages.{name}", f"'{name}' is a reserved outcome name; rename the stage")
        self._check_name_characters()
        start = meta.start if meta else dt.date(2000, 1, 1)
        if meta and meta.warmup >= meta.horizon:
            self.fail("scenario.warmup", "must be shorter than scenario.horizon")
        if meta and meta.horizon <= 0:
            self.fail("scenario.horizon", "must be positive")
        elif meta and meta.horizon > MAX_HORIZON_YEARS * HOURS_PER_YEAR:
            self.fail("scenario.horizon", f"{format_duration(meta.horizon)} is longer than the "
                      f"{MAX_HORIZON_YEARS} years revsim simulates; shorten it")

        calendars = self._calendars(parsed["calendars"], start)
        segment_values = tuple(
            self.dist(seg.value, "money", f"segments.{n}.value") if seg else None
            for n, seg in parsed["segments"].items()
        )
        sources = self._sources(parsed["sources"], stage_idx, segment_names, start, meta)
        pools = self._pools(parsed["pools"], calendars, start, meta)
        stages = self._stages(parsed["stages"], stage_idx, targets, pool_names, segment_names)
        nurture = self._nurture(parsed.get("nurture"), stage_idx)
        cash_compiler = CashCompiler(self, stage_idx, pool_names, segment_names)
        cash, internal = cash_compiler.compile(len(stage_names))
        self._check_routes_reachable(parsed, stage_names, sources, stages, nurture,
                                     cash_compiler.onboarding)
        stage_events = tuple(
            (spec.event if spec is not None and spec.event else f"stage:{name}")
            for name, spec in parsed["stages"].items()
        ) + tuple(st.name for st in internal)
        stages = stages + internal
        if self.problems or meta is None:
            return None
        model = Model(
            name=meta.name,
            start=meta.start,
            horizon=meta.horizon,
            warmup=meta.warmup,
            currency=meta.currency,
            sample_every=meta.sample_every,
            segments=tuple(segment_names),
            segment_values=segment_values,
            sources=tuple(sources),
            pools=tuple(pools),
            stages=tuple(stages),
            nurture=nurture,
            cash=cash,
            stage_events=stage_events,
            sales_stages=self.sales_stages,
            raw=dict(self.raw),
        )
        volume = window_problems(model, model.horizon)
        if volume:
            self.problems.extend(volume)
            return None
        self.warnings.extend(capacity_warnings(model))
        return model

    def _check_name_characters(self) -> None:
        """Names are parts of paths and keys (S.NAME_SEPARATORS): refuse the ones that would be
        read as two, with the name that would do instead."""
        for section in S.SECTION_MODELS:
            for name in self._names(section):
                found = [c for c in S.NAME_SEPARATORS if c in name]
                if found:
                    fixed = re.sub(f"[{re.escape(S.NAME_SEPARATORS)}]", "_", name)
                    listed = " or ".join(repr(c) for c in found)
                    self.fail(f'{section}."{name}"',
                              f"a name may not contain {listed}: it separates the parts of "
                              f"paths and keys (--set {section}.NAME.FIELD=VALUE, "
                              f"SCOPE:NAME:METRIC); rename it, e.g. '{fixed}'")

    def _names(self, section: str) -> list[str]:
        table = self.raw.get(section, {}) if isinstance(self.raw, Mapping) else {}
        return list(table) if isinstance(table, Mapping) else []

    def _calendars(self, specs: dict[str, Any], start: dt.date) -> dict[str, CalendarModel]:
        calendars = {"always": ALWAYS_OPEN}
        for name, spec in specs.items():
            if name == "always":
                self.fail("calendars.always", "'always' is built in (24/7); pick another name")
                continue
            if spec is None:
                calendars[name] = ALWAYS_OPEN  # reported already, like a bad calendar below
                continue
            try:
                calendars[name] = calendar_from_text(
                    start, spec.days, spec.hours, spec.holidays
                )
            except CalendarError as err:
                self.fail(f"calendars.{name}.{err.field}", str(err))
                calendars[name] = ALWAYS_OPEN  # reported: its pools need not say it is unknown
            except ValueError as err:
                self.fail(f"calendars.{name}", str(err))
                calendars[name] = ALWAYS_OPEN  # reported: its pools need not say it is unknown
        return calendars

    def _warn_after_horizon(self, path: str, when: dt.date, at: float, meta: S.Meta | None,
                            what: str) -> None:
        if meta is not None and at >= meta.horizon:
            self.warnings.append(f"{path}: the {what} on {when} falls after the horizon "
                                 f"({format_duration(meta.horizon)} from {meta.start}), so it "
                                 "never happens in the run")

    def _hours_since_start(self, when: dt.date | dt.datetime, start: dt.date) -> float:
        if isinstance(when, dt.datetime):
            base = dt.datetime.combine(start, dt.time())
            if when.tzinfo is not None:
                when = when.replace(tzinfo=None)
            return (when - base).total_seconds() / 3600.0
        return (when - start).days * 24.0

    def _sources(self, specs, stage_idx, segment_names, start, meta) -> list[SourceModel]:
        out: list[SourceModel] = []
        for name, spec in specs.items():
            path = f"sources.{name}"
            if spec is None:
                continue
            if spec.rate <= 0:
                self.fail(f"{path}.rate", "must be positive (a source with no leads is not a source)")
            if spec.to not in stage_idx:
                self.fail(f"{path}.to", f"unknown stage '{spec.to}'; {suggest(spec.to, list(stage_idx))}")
            for key, n in (("hour_profile", 24), ("weekday_profile", 7), ("month_profile", 12)):
                prof = getattr(spec, key)
                if prof is None:
                    continue
                if len(prof) != n:
                    self.fail(f"{path}.{key}", f"needs {n} values, got {len(prof)}")
                elif min(prof) < 0 or sum(prof) <= 0:
                    self.fail(f"{path}.{key}", "weights must be >= 0 and not all zero")
            seg_index, seg_probs = self._segment_mix(spec.segments, segment_names, path)
            bursts = []
            for i, b in enumerate(spec.bursts):
                at = self._hours_since_start(b.at, start)
                if at < 0 or (meta and at >= meta.horizon):
                    self.fail(f"{path}.bursts.{i}.at", "must fall inside the simulated horizon")
                bursts.append((at, b.count, b.over))
            value = self.dist(spec.value, "money", f"{path}.value")
            score = self.dist(spec.score, "number", f"{path}.score")
            out.append(
                SourceModel(
                    name=name,
                    rate=spec.rate,
                    to=stage_idx.get(spec.to, -1),
                    hour_profile=tuple(spec.hour_profile) if spec.hour_profile else None,
                    weekday_profile=tuple(spec.weekday_profile) if spec.weekday_profile else None,
                    month_profile=tuple(spec.month_profile) if spec.month_profile else None,
                    segment_index=seg_index,
                    segment_probs=seg_probs,
                    score=score,
                    value=value,
                    limit=spec.limit,
                    bursts=tuple(bursts),
                )
            )
        return out

    def _segment_mix(self, mix, segment_names, path) -> tuple[tuple[int, ...], tuple[float, ...]]:
        if mix is None:
            return ((0,), (1.0,)) if segment_names else ((), ())
        if isinstance(mix, str):
            mix = {mix: 1.0}
        index, probs = [], []
        for seg, p in mix.items():
            if seg not in segment_names:
                self.fail(f"{path}.segments.{seg}", f"unknown segment; {suggest(seg, segment_names)}")
                continue
            index.append(segment_names.index(seg))
            probs.append(p)
        total = sum(mix.values())
        if abs(total - 1.0) > ROUTE_TOLERANCE:
            self.fail(f"{path}.segments", f"shares sum to {total:.4g}, expected 1")
        return tuple(index), tuple(probs)

    def _pools(self, specs, calendars, start, meta) -> list[PoolModel]:
        out: list[PoolModel] = []
        for i, (name, spec) in enumerate(specs.items()):
            path = f"pools.{name}"
            if spec is None:
                continue
            if spec.calendar not in calendars:
                self.fail(f"{path}.calendar", f"unknown calendar '{spec.calendar}'; "
                          f"{suggest(spec.calendar, list(calendars))}")
            ramp = (spec.ramp.duration, spec.ramp.start) if spec.ramp else None
            hires = []
            for j, h in enumerate(spec.hires):
                at = self._hours_since_start(h.date, start)
                if at < 0:
                    self.fail(f"{path}.hires.{j}.date", "is before the scenario start")
                self._warn_after_horizon(f"{path}.hires.{j}.date", h.date, at, meta, "hire")
                hires.append(HireModel(at, h.count, (h.ramp.duration, h.ramp.start) if h.ramp else ramp))
            departures = []
            for j, d in enumerate(spec.departures):
                at = self._hours_since_start(d.date, start)
                if at < 0:
                    self.fail(f"{path}.departures.{j}.date", "is before the scenario start")
                self._warn_after_horizon(f"{path}.departures.{j}.date", d.date, at, meta,
                                         "departure")
                departures.append((at, d.count))
            most = spec.headcount + sum(h.count for h in spec.hires)
            if most > MAX_HEADCOUNT:
                self.fail(f"{path}.hires", f"the headcount and the hires add up to {most:,}, "
                          f"more than the {MAX_HEADCOUNT:,} people a pool may have")
            if spec.attrition is not None and spec.attrition < 0:
                self.fail(f"{path}.attrition", "must be >= 0")
            elif spec.attrition is not None and spec.attrition * 24 > MAX_ATTRITION_PER_DAY:
                self.fail(f"{path}.attrition", f"{spec.attrition * 24:.3g} departures per head "
                          f"per day is more than {MAX_ATTRITION_PER_DAY:g}; check the unit "
                          "(e.g. \"0.3/y\")")
            if spec.backfill_after is not None and spec.attrition is None:
                self.warnings.append(f"{path}.backfill_after has no effect without attrition")
            out.append(
                PoolModel(
                    name=name,
                    index=i,
                    headcount=spec.headcount,
                    calendar=calendars.get(spec.calendar, calendars["always"]),
                    calendar_name=spec.calendar,
                    ramp=ramp,
                    hires=tuple(hires),
                    departures=tuple(departures),
                    attrition=spec.attrition or None,
                    backfill_after=spec.backfill_after,
                    cost_per_head=spec.cost_per_head,
                )
            )
        return out

    def _routing(self, routes: dict[str, float], targets: dict[str, int], path: str) -> Routing | None:
        ok = True
        for target in routes:
            if target not in targets:
                self.fail(f"{path}.{target}", f"unknown route target; {suggest(target, list(targets))}")
                ok = False
        if not routes:
            self.fail(path, "needs at least one route, e.g. { won = 0.2, lost = 0.8 }")
            return None
        total = sum(routes.values())
        if abs(total - 1.0) > ROUTE_TOLERANCE:
            self.fail(path, f"probabilities sum to {total:.4g}, expected 1")
            ok = False
        if not ok:
            return None
        kept = [(targets[t], p) for t, p in routes.items() if p > 0]
        cumulative = np.cumsum([p for _, p in kept]) / total
        return Routing(
            targets=tuple(t for t, _ in kept),
            cumulative=tuple(float(c) for c in cumulative),
            probabilities=tuple(p / total for _, p in kept),
        )

    def _stages(self, specs, stage_idx, targets, pool_names, segment_names) -> list[StageModel]:
        out: list[StageModel] = []
        for name, spec in specs.items():
            path = f"stages.{name}"
            if spec is None:
                continue
            pool = None
            if spec.pool is not None:
                if spec.pool not in pool_names:
                    self.fail(f"{path}.pool", f"unknown pool '{spec.pool}'; {suggest(spec.pool, pool_names)}")
                else:
                    pool = pool_names.index(spec.pool)
                if spec.work is None:
                    self.fail(f"{path}.work", "required when the stage has a pool (staff time per item)")
            else:
                if spec.work is not None:
                    self.fail(f"{path}.work", "staff time needs a pool; add pool = \"...\" or use delay")
                if spec.delay is None and not spec.delay_by_route:
                    self.fail(path, "give pool + work (staffed) or delay (unstaffed), or both")
            if spec.discipline == "priority" and spec.priority is None:
                self.fail(f"{path}.priority", "required when discipline = \"priority\" (value or score)")
            if spec.discipline != "priority" and spec.priority is not None:
                self.fail(f"{path}.priority", f"discipline \"{spec.discipline}\" ignores it; set "
                          "discipline = \"priority\" to serve by it, or remove priority")
            work = self.dist(spec.work, "duration", f"{path}.work")
            delay = self.dist(spec.delay, "duration", f"{path}.delay")
            patience, mode = self._patience(spec.patience, f"{path}.patience")
            if mode is not None and pool is None:
                self.fail(f"{path}.patience", "only staffed stages have a queue to be patient in")
            if spec.service_level is not None and spec.pool is None:
                self.fail(f"{path}.service_level", "only staffed stages have a wait to target")
            routes = self._routing(spec.routes, targets, f"{path}.routes")
            by_segment: dict[int, Routing] = {}
            for seg, seg_routes in spec.routes_by_segment.items():
                if seg not in segment_names:
                    self.fail(f"{path}.routes_by_segment.{seg}",
                              f"unknown segment; {suggest(seg, segment_names)}")
                    continue
                r = self._routing(seg_routes, targets, f"{path}.routes_by_segment.{seg}")
                if r is not None:
                    by_segment[segment_names.index(seg)] = r
            if spec.decay_outcome not in targets:
                self.fail(f"{path}.decay_outcome",
                          f"unknown target; {suggest(spec.decay_outcome, list(targets))}")
            by_route: dict[int, Distribution] = {}
            route_names = set(spec.routes) | {t for r in spec.routes_by_segment.values()
                                              for t in r}
            for target, dspec in spec.delay_by_route.items():
                if target not in route_names:
                    self.fail(f"{path}.delay_by_route.{target}",
                              f"not a route of this stage; {suggest(target, sorted(route_names))}")
                    continue
                d = self.dist(dspec, "duration", f"{path}.delay_by_route.{target}")
                if d is not None and target in targets:
                    by_route[targets[target]] = d
            if spec.delay_by_route and spec.delay is None and \
                    not route_names <= set(spec.delay_by_route):
                missing = sorted(route_names - set(spec.delay_by_route))
                self.fail(f"{path}.delay", "needed for the routes without their own delay: "
                          + ", ".join(missing))
            if routes is None:
                continue
            out.append(
                StageModel(
                    name=name,
                    index=stage_idx[name],
                    pool=pool,
                    work=work,
                    delay=delay,
                    discipline=spec.discipline,
                    priority=spec.priority,
                    pool_priority=spec.pool_priority,
                    queue_limit=spec.queue_limit,
                    wip_limit=spec.wip_limit,
                    when_full=spec.when_full,
                    patience=patience,
                    patience_mode=mode,
                    decay_outcome=targets.get(spec.decay_outcome, TERMINAL_CODES["disqualified"]),
                    routes=routes,
                    routes_by_segment=by_segment,
                    work_scale=spec.work_scale,
                    delay_by_route=by_route,
                    service_level=spec.service_level,
                )
            )
        return out

    def _patience(self, spec, path) -> tuple[Distribution | None, str | None]:
        if spec == "none":
            return None, None
        if isinstance(spec, str):
            return _decay_curve(spec), "decay"
        if (spec.curve is None) == (spec.after is None):
            self.fail(path, "give either curve = \"moderate\"/\"aggressive\" or after = a distribution")
            return None, None
        if spec.curve is not None:
            return _decay_curve(spec.curve), spec.on_expiry
        return self.dist(spec.after, "duration", f"{path}.after"), spec.on_expiry

    def _nurture(self, spec, stage_idx) -> NurtureModel | None:
        if spec is None:
            return None
        if spec.to not in stage_idx:
            self.fail("nurture.to", f"unknown stage '{spec.to}'; {suggest(spec.to, list(stage_idx))}")
            return None
        after = self.dist(spec.after, "duration", "nurture.after")
        return NurtureModel(after, stage_idx[spec.to], spec.max_cycles) if after else None

    def _check_routes_reachable(self, parsed, stage_names, sources, stages, nurture,
                                onboarding) -> None:
        """Every stage must be reachable; `won` ends sales stages, `live`/`churned` end the
        delivery stages that won deals enter ([deals].onboarding)."""
        uses_nurture = any(
            NURTURE in st.routes.targets
            or any(NURTURE in r.targets for r in st.routes_by_segment.values())
            or (st.patience_mode == "decay" and st.decay_outcome == NURTURE)
            for st in stages
        )
        if uses_nurture and parsed.get("nurture") is None and "nurture" not in self.raw:
            self.fail("nurture", "a route or decay_outcome goes to 'nurture' but there is no "
                      "[nurture] section")
        if len(stages) != len(stage_names) or len(sources) != len(parsed["sources"]):
            return  # reachability is meaningless until the routes themselves are valid
        self.sales_stages, problems = route_graph_problems(sources, stages, nurture, onboarding)
        self.problems.extend(problems)


def _decay_curve(name: str) -> Distribution:
    w, tau1, tau2 = DECAY_CURVES[name]
    return hyperexponential([w, 1 - w], [tau1, tau2])


def compile_scenario(raw: Mapping[str, Any], source: str | None = None) -> tuple[Model, list[str]]:
    """Validate and compile a raw scenario mapping; raise ScenarioError listing every problem."""
    compiler = _Compiler(raw)
    model = compiler.compile()
    if model is None:
        raise ScenarioError(compiler.problems or [Problem("", "invalid scenario")], source)
    return model, compiler.warnings
