"""Turn a raw scenario mapping into a :class:`Model`, collecting every problem on the way."""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from revsim.distributions import Distribution, SpecError, from_spec, hyperexponential
from revsim.engine.calendar import WorkingCalendar
from revsim.errors import Problem, ScenarioError
from revsim.scenario import schema as S
from revsim.scenario.compile_cash import CashCompiler
from revsim.scenario.model import (
    CHURNED,
    DECAY_CURVES,
    LIVE,
    NURTURE,
    OUTCOME_NAMES,
    TERMINAL_CODES,
    WON,
    HireModel,
    Model,
    NurtureModel,
    PoolModel,
    Routing,
    SourceModel,
    StageModel,
)
from revsim.units import format_duration

ROUTE_TOLERANCE = 1e-6


def suggest(name: str, valid: list[str] | tuple[str, ...]) -> str:
    """A "did you mean" hint plus the valid names, for messages about unknown names."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    listed = ", ".join(sorted(valid)) if valid else "none defined"
    return f"{hint}valid: {listed}"


def _pydantic_problems(error: ValidationError, prefix: str, model: type[BaseModel]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for err in error.errors():
        loc = [str(p) for p in err["loc"] if not _is_union_tag(p)]
        path = ".".join([prefix, *loc]) if prefix else ".".join(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            valid = _field_names(model, err["loc"][:-1])
            message = f"unknown field '{loc[-1]}'; {suggest(loc[-1], valid)}"
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "value_error":
            message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        elif kind == "literal_error":
            message = f"got {err['input']!r}; {err['msg'][0].lower()}{err['msg'][1:]}"
        else:
            message = f"{err['msg'][0].lower()}{err['msg'][1:]} (got {err['input']!r})"
        if (path, message) not in seen:
            seen.add((path, message))
            problems.append(Problem(path, message))
    return problems


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the union member's type name to the location ("str", "PatienceSpec", ...)
    return isinstance(part, str) and (
        part in {"str", "float", "int", "dict", "list", "bool", "none", "date", "datetime"}
        or part[:1].isupper()
        or "[" in part
    )


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not isinstance(current, type):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            break
        inner = _model_in(info.annotation)
        if inner is None:
            break
        current = inner
    return list(getattr(current, "model_fields", {}).keys())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


class _Compiler:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.sales_stages: tuple[int, ...] = ()

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    # -- structure -------------------------------------------------------------------------
    def validate_sections(self) -> dict[str, Any]:
        parsed: dict[str, Any] = {}
        if not isinstance(self.raw, Mapping):
            self.fail("", "a scenario must be a TOML table")
            return parsed
        known = set(S.ScenarioFile.model_fields)
        for key in self.raw:
            if key not in known:
                self.fail(key, f"unknown section; {suggest(key, sorted(known))}")
        for key in ("scenario", "sources", "stages"):
            if key not in self.raw:
                self.fail(key, f"required section [{key}] is missing")
        if "scenario" in self.raw:
            parsed["scenario"] = self._one(S.Meta, self.raw["scenario"], "scenario")
        for section, model in S.SECTION_MODELS.items():
            table = self.raw.get(section, {})
            if not isinstance(table, Mapping):
                self.fail(section, f"expected a table of named {section}")
                table = {}
            parsed[section] = {
                name: self._one(model, body, f"{section}.{name}") for name, body in table.items()
            }
        if self.raw.get("nurture") is not None:
            parsed["nurture"] = self._one(S.NurtureSpec, self.raw["nurture"], "nurture")
        return parsed

    def _one(self, model: type[BaseModel], body: Any, path: str) -> Any:
        try:
            return model.model_validate(body)
        except ValidationError as err:
            self.problems.extend(_pydantic_problems(err, path, model))
            return self._lenient(model, body, err)

    def _lenient(self, model: type[BaseModel], body: Any, err: ValidationError) -> Any:
        """Validate again without the offending fields, so that the cross-reference checks
        still see the rest of the entry and report its other problems. The scenario is already
        invalid, so what this returns is only ever checked, never run."""
        if not isinstance(body, Mapping):
            return None
        bad = {e["loc"][0] for e in err.errors() if e["loc"]}
        rest = {k: v for k, v in body.items() if k not in bad}
        try:
            return model.model_validate(rest)
        except ValidationError:
            return None

    def dist(self, spec: Any, kind: str, path: str) -> Distribution | None:
        if spec is None:
            return None
        try:
            dist = from_spec(spec, kind=kind, field=path)  # type: ignore[arg-type]
        except SpecError as err:
            self.problems.extend(Problem(p, m) for p, m in err.problems)
            return None
        except ValueError as err:
            self.fail(path, str(err))
            return None
        if kind == "money" and float(dist.ppf(0.0)) < 0:
            self.fail(path, "amounts must be >= 0, but this distribution can draw negative values")
            return None
        return dist

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
        start = meta.start if meta else dt.date(2000, 1, 1)
        if meta and meta.warmup >= meta.horizon:
            self.fail("scenario.warmup", "must be shorter than scenario.horizon")
        if meta and meta.horizon <= 0:
            self.fail("scenario.horizon", "must be positive")

        calendars = self._calendars(parsed["calendars"], start)
        segment_values = tuple(
            self.dist(seg.value, "money", f"segments.{n}.value") if seg else None
            for n, seg in parsed["segments"].items()
        )
        sources = self._sources(parsed["sources"], stage_idx, segment_names, start, meta)
        pools = self._pools(parsed["pools"], calendars, start)
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
        volume = lead_volume_problems(model, model.horizon)
        if volume:
            self.problems.extend(volume)
            return None
        self.warnings.extend(capacity_warnings(model))
        return model

    def _names(self, section: str) -> list[str]:
        table = self.raw.get(section, {}) if isinstance(self.raw, Mapping) else {}
        return list(table) if isinstance(table, Mapping) else []

    def _calendars(self, specs: dict[str, Any], start: dt.date) -> dict[str, WorkingCalendar]:
        calendars = {"always": WorkingCalendar.always()}
        for name, spec in specs.items():
            if name == "always":
                self.fail("calendars.always", "'always' is built in (24/7); pick another name")
                continue
            if spec is None:
                continue
            try:
                calendars[name] = WorkingCalendar.from_spec(
                    start, spec.days, spec.hours, spec.holidays
                )
            except ValueError as err:
                self.fail(f"calendars.{name}", str(err))
        return calendars

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

    def _pools(self, specs, calendars, start) -> list[PoolModel]:
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
                hires.append(HireModel(at, h.count, (h.ramp.duration, h.ramp.start) if h.ramp else ramp))
            departures = []
            for j, d in enumerate(spec.departures):
                at = self._hours_since_start(d.date, start)
                if at < 0:
                    self.fail(f"{path}.departures.{j}.date", "is before the scenario start")
                departures.append((at, d.count))
            if spec.attrition is not None and spec.attrition < 0:
                self.fail(f"{path}.attrition", "must be >= 0")
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
        edges: dict[int, set[int]] = {s.index: set() for s in stages}
        ends: dict[int, set[int]] = {s.index: set() for s in stages}
        for st in stages:
            for r in (st.routes, *st.routes_by_segment.values()):
                edges[st.index].update(t for t in r.targets if t >= 0)
                ends[st.index].update(t for t in r.targets if t < 0)
                if NURTURE in r.targets and nurture is not None:
                    edges[st.index].add(nurture.to)
            if st.decay_outcome >= 0:
                edges[st.index].add(st.decay_outcome)

        def reach(starts: list[int]) -> set[int]:
            seen: set[int] = set()
            frontier = list(starts)
            while frontier:
                node = frontier.pop()
                if node not in seen:
                    seen.add(node)
                    frontier.extend(edges.get(node, ()))
            return seen

        sales = reach([s.to for s in sources if s.to >= 0])
        delivery = reach([onboarding]) if onboarding is not None else set()
        self.sales_stages = tuple(sorted(sales - delivery))
        names = {st.index: st.name for st in stages}
        for st in stages:
            if st.index not in sales and st.index not in delivery:
                self.fail(f"stages.{st.name}",
                          "no lead can reach this stage: no source or route leads to it")
        for idx in sorted(sales):
            for code in sorted(ends[idx] & {LIVE, CHURNED}, reverse=True):
                fix = ("set [deals] onboarding = \"STAGE\" and route there via 'won'"
                       if onboarding is None else "route sales stages to 'won' or 'lost'")
                self.fail(f"stages.{names[idx]}.routes.{OUTCOME_NAMES[code]}",
                          f"'{OUTCOME_NAMES[code]}' ends a won deal's delivery, but leads reach "
                          f"this stage before they are won; {fix}")
        # A lead must be able to finish: from every stage some path has to end in an outcome
        # (a closed loop of routes would keep its leads forever, at zero delay in no time).
        finishes = {i for i, e in ends.items() if e}
        for st in stages:
            if (st.patience_mode == "renege"
                    or (st.patience_mode == "decay" and st.decay_outcome < 0)
                    or (st.when_full == "lose" and (st.queue_limit is not None
                                                    or st.wip_limit is not None))):
                finishes.add(st.index)
        grew = True
        while grew:
            before = len(finishes)
            finishes |= {i for i, out in edges.items() if out & finishes}
            grew = len(finishes) > before
        reported: set[frozenset[int]] = set()
        for idx in sorted((sales | delivery) - finishes):
            loop = frozenset(reach([idx]))
            if loop not in reported:
                reported.add(loop)
                where = ", ".join(sorted(names[i] for i in loop))
                self.fail(f"stages.{names[idx]}.routes",
                          f"leads that enter this stage can never finish: every route leads "
                          f"back into {where}; route some share to an outcome such as 'lost'")
        for idx in sorted(delivery):
            if WON in ends[idx]:
                self.fail(f"stages.{names[idx]}.routes.won",
                          "'won' ends a sale, but this stage delivers deals that were already "
                          "won; route to 'live' or 'churned'")
            if idx in sales:
                self.fail(f"stages.{names[idx]}",
                          "is both a sales stage (reached before 'won') and a delivery stage "
                          "(reached after it); use separate stages")


def _decay_curve(name: str) -> Distribution:
    w, tau1, tau2 = DECAY_CURVES[name]
    return hyperexponential([w, 1 - w], [tau1, tau2])


def visit_rates(model: Model) -> np.ndarray:
    """Long-run visits per hour to each stage, from the traffic equations (ignores limits and
    decay; billing and collections work is estimated from the deals won)."""
    n = len(model.stages)
    routing = np.zeros((n, n))
    won_share = np.zeros(n)
    seg_mix = np.zeros(max(len(model.segments), 1))
    external = np.zeros(n)
    for src in model.sources:
        external[src.to] += src.rate
        for i, p in zip(src.segment_index, src.segment_probs, strict=True):
            seg_mix[i] += src.rate * p
    if seg_mix.sum() > 0:
        seg_mix = seg_mix / seg_mix.sum()
    for st in model.stages:
        for seg in range(len(seg_mix)):
            r = st.routes_by_segment.get(seg, st.routes)
            weight = seg_mix[seg] if model.segments else 1.0
            for t, p in zip(r.targets, r.probabilities, strict=True):
                if t >= 0:
                    routing[st.index, t] += weight * p
                elif t == NURTURE and model.nurture is not None:
                    routing[st.index, model.nurture.to] += weight * p
                elif t == WON:
                    won_share[st.index] += weight * p
                    if model.cash is not None and model.cash.onboarding is not None:
                        routing[st.index, model.cash.onboarding] += weight * p
            if not model.segments:
                break
    try:
        rates = np.linalg.solve(np.eye(n) - routing.T, external)
    except np.linalg.LinAlgError:
        return np.full(n, math.inf)
    cash = model.cash
    if cash is not None and (cash.billing_stage is not None or cash.collections_stage is not None):
        # Invoices are not leads: estimate their rate as deals won x invoices per deal over the
        # long run (a renewing subscription keeps invoicing, 1 / (1 - renewal) terms on average).
        from revsim.engine.cash import billing_plan

        contract, payment = cash.contract(-1), cash.payment(-1)
        per_term = sum(len(billing_plan(contract, 100, event, 0.0))
                       for event in ("signature", "go_live"))
        terms = 1.0 if contract.one_off else 1.0 / max(1.0 - contract.renewal, 1e-3)
        invoices = float(won_share @ rates) * per_term * terms
        if cash.billing_stage is not None:
            rates[cash.billing_stage] = invoices
        if cash.collections_stage is not None:
            # reminders go out while an invoice is unpaid: late payers by the lateness
            # survival function (ignoring the reminders' own effect), never-payers until the
            # write-off
            late = sum(float(payment.lateness.sf(r)) for r in cash.reminders) \
                if payment.lateness is not None else 0.0
            never = sum(1 for r in cash.reminders
                        if r < payment.write_off_after - contract.terms)
            per_invoice = payment.late * late + payment.never * never
            rates[cash.collections_stage] = invoices * per_invoice
    return rates


MAX_LEADS = 50_000_000  # per replication: each lead is an object and its arrival time is kept


def lead_volume_problems(model: Model, horizon: float) -> list[Problem]:
    """Sources that would create more leads in one replication than revsim can hold (most
    often a unit slip, "1e6/h" for "1e6/y"), refused before anything is allocated."""
    problems = []
    for src in model.sources:
        expected = src.rate * horizon + sum(n for _, n, _ in src.bursts)
        if src.limit is not None:
            expected = min(expected, src.limit)
        if expected > MAX_LEADS:
            problems.append(Problem(
                f"sources.{src.name}.rate",
                f"{src.rate * 168:,.4g} leads per week over {format_duration(horizon)} is about "
                f"{expected:,.3g} leads per replication, more than the {MAX_LEADS:,} revsim "
                "simulates in one; check the rate's unit, or shorten the horizon"))
    return problems


def capacity_warnings(model: Model) -> list[str]:
    """Warn about pools whose offered load meets or exceeds their working capacity, with the
    planned average headcount over the statistics window (hires and departures included)."""
    rates = visit_rates(model)
    warnings = []
    for pool in model.pools:
        offered = sum(
            rates[st.index] * st.work.mean * st.work_scale
            for st in model.stages
            if st.pool == pool.index and st.work is not None
        )
        if all(st.pure_loss for st in model.stages if st.pool == pool.index):
            continue  # a loss system sheds its overload: nothing can grow without bound
        heads = pool.planned_headcount(model.warmup, model.horizon)
        capacity = heads * pool.calendar.open_fraction()
        if offered <= 0:
            continue
        if capacity <= 0 or offered >= capacity:
            per_week = 168.0
            planned = "" if heads == pool.headcount else " on average, with the planned changes"
            warnings.append(
                f"pool '{pool.name}' is overloaded: offered load {offered * per_week:,.0f} h of work "
                f"per week vs capacity {capacity * per_week:,.0f} h per week "
                f"({heads:.3g} heads{planned} x "
                f"{pool.calendar.open_fraction() * per_week:.0f} h); "
                "its queues will grow without bound unless leads renege or are lost"
            )
    return warnings


def compile_scenario(raw: Mapping[str, Any], source: str | None = None) -> tuple[Model, list[str]]:
    """Validate and compile a raw scenario mapping; raise ScenarioError listing every problem."""
    compiler = _Compiler(raw)
    model = compiler.compile()
    if model is None:
        raise ScenarioError(compiler.problems or [Problem("", "invalid scenario")], source)
    return model, compiler.warnings
