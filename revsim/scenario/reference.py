"""The scenario-format reference in Markdown, generated from the schema so it cannot drift."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from revsim import limits
from revsim.distributions import FAMILY_PARAMS
from revsim.scenario import schema as S
from revsim.scenario import schema_money as M
from revsim.units import format_duration

_SECTIONS: list[tuple[str, type[BaseModel], str]] = [
    ("[scenario]", S.Meta, "Name, clock and horizon."),
    ("[calendars.NAME]", S.CalendarSpec, "Working calendars that pools refer to by name; "
     "`always` (24/7) is built in."),
    ("[segments.NAME]", S.SegmentSpec, "Customer segments and their deal values."),
    ("[sources.NAME]", S.SourceSpec, "Lead sources: non-homogeneous Poisson arrivals."),
    ("[[sources.NAME.bursts]]", S.Burst, "One-off batches of leads."),
    ("[pools.NAME]", S.PoolSpec, "Staff pools."),
    ("pools.NAME.ramp / hires[].ramp", S.Ramp, "Productivity ramp of new hires."),
    ("[[pools.NAME.hires]]", S.Hire, "Planned hires."),
    ("[[pools.NAME.departures]]", S.Departure, "Planned departures."),
    ("[stages.NAME]", S.StageSpec, "Stages: staffed work and/or an unstaffed delay, then routes."),
    ("stages.NAME.patience (table form)", S.PatienceSpec, "Patience for first touch."),
    ("[nurture]", S.NurtureSpec, "Recycling of leads routed to `nurture`."),
    ("[deals]", M.DealsSpec, "What a won deal becomes. Without it, `won` ends a lead's journey "
     "and nothing is invoiced."),
    ("[deals.contract] and [deals.by_segment.SEGMENT]", M.ContractSpec,
     "Contract and billing terms; `by_segment` tables override any of these fields."),
    ("[[deals.contract.milestones]]", M.Milestone, "Milestone invoices (one-off contracts)."),
    ("[billing]", M.BillingSpec, "Issuing invoices."),
    ("[payment] and [payment.by_segment.SEGMENT]", M.PaymentSpec,
     "Payment behaviour; shares on_time + late + never sum to 1."),
    ("[dunning]", M.DunningSpec, "Reminders after the due date."),
    ("[parameter_draws]", S.ParameterDrawsSpec,
     "Bootstrap draws of a fitted scenario's parameters (`revsim fit --bootstrap N` writes "
     "them); with `--parameter-uncertainty on` each replication runs one draw. See "
     "docs/parameter-uncertainty.md."),
]


def _type_name(annotation: Any, metadata: Any = ()) -> str:
    meta = [*getattr(annotation, "__metadata__", ()), *metadata]
    for m in meta:
        schema = getattr(m, "json_schema", None)
        if isinstance(schema, dict):
            text = schema.get("description", "")
            for prefix, word in (("A duration with", "duration"), ("A rate", "rate"),
                                 ("An amount", "amount")):
                if text.startswith(prefix):
                    return word
            return "distribution"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`\"{a}\"`" for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin in (list, dict):
        return f"{origin.__name__} of " + ", ".join(_type_name(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"table ({annotation.__name__})"
    return getattr(annotation, "__name__", str(annotation))


def _default(info: Any) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        value = info.default_factory()
    else:
        value = info.default
    if value is PydanticUndefined:
        return ""
    return f"`{value!r}`" if value not in (None, "", [], {}) else "-"


def markdown() -> str:
    """The scenario-format reference as Markdown."""
    out = [
        "# Scenario format reference",
        "",
        "Generated from `revsim/scenario/schema.py` by `python -m revsim.scenario.reference`;"
        " do not edit by hand. `revsim schema` prints the same as JSON Schema for editors.",
        "",
        "Durations carry units (`min`, `h`, `d`, `w`, `mo` = 30.44 d, `y` = 365.25 d); rates are"
        " a count per unit (`\"40/w\"`); amounts accept `12000`, `\"12k\"`, `\"$1.2M\"`. Route"
        " targets are stage names or the outcomes `won`, `lost`, `disqualified`, `done` and"
        " `nurture`. The names of calendars, segments, sources, pools and stages may not"
        " contain " + ", ".join(f"`{c}`" for c in S.NAME_SEPARATORS) + ": they separate the"
        " parts of paths and keys (`pools.NAME.headcount`, `pool:NAME:utilisation`).",
        "",
    ]
    for title, model, blurb in _SECTIONS:
        out += [f"## `{title}`", "", blurb, "", "| field | type | default | meaning |",
                "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            desc = (info.description or "").replace("|", "\\|")
            kind = _type_name(info.annotation, info.metadata)
            default = _default(info)
            if kind == "duration" and isinstance(info.default, float):
                default = f"`\"{format_duration(info.default)}\"`" if info.default else "`0`"
            out.append(f"| `{name}` | {kind} | {default} | {desc} |")
        out.append("")
    out += ["## Distributions", "",
            "A distribution is a table with `dist` and one set of parameters; a bare duration"
            " (`\"20 min\"`) or number means a fixed value. Scale parameters of durations take"
            " units (`mean = \"2 d\"`), or plain numbers with `unit = \"h\"`.", "",
            "| dist | parameter sets |", "|---|---|"]
    for family, sets in FAMILY_PARAMS.items():
        joined = "; ".join(" + ".join(f"`{p}`" for p in params) for params in sets)
        if family == "scipy":
            joined += " + the scipy distribution's own parameters (`loc`, `scale`, shapes)"
        out.append(f"| `{family}` | {joined} |")
    out += ["", "Patience presets `moderate` and `aggressive` are two-phase exponential decay"
            " curves fitted to the HBR 2011 and HBR + MIT 2007 speed-to-lead ratios.", "",
            "## Billing schedules", "",
            "`upfront` (at signature), `on_go_live`, `monthly_advance`, `monthly_arrears`,"
            " `quarterly_advance`, `annual_advance`, `annual_arrears` (periods of a subscription"
            " term, starting at `service_start`), and `milestones` (one-off contracts).", "",
            "## Working hours", "",
            "Hours are 24-hour `HH:MM-HH:MM` ranges (`\"09:00-17:00\"`, `\"18:30-24:00\"`); the"
            " end must come after the start. A shift that ends the next day says so with `+1`:"
            " `\"22:00-06:00+1\"` belongs to the day it starts on (`\"09:00-09:00+1\"` is 24"
            " hours). `\"9-5\"`, `\"17:00-09:00\"` and zero-length shifts are refused.", "",
            "## Types", "",
            "Types are strict: `true` is not a number, `\"3\"` is not an integer, `inf` and `nan`"
            " are never accepted, a date is a TOML date (`2027-01-04`, no quotes), amounts are"
            " never negative, and a bare number is never a duration (`5` is refused; write"
            " `\"5 d\"` or `\"5 h\"`). Text may not contain NUL or other control characters."
            " A hire or departure dated after the horizon is a warning (it never happens in the"
            " run); a `priority` on a stage whose `discipline` is not `\"priority\"` is an error.",
            "",
            "## Limits", "",
            "Checked before anything is built or run (`revsim/limits.py`); past a limit the input"
            " is refused with exit code 2 and a message naming the file and field (or the flag).",
            "", "| what | limit | why |", "|---|---|---|",
            *[f"| {lim.what} | {lim.value} | {lim.why} |" for lim in limits.table()], "",
            "## Outcomes", "",
            "Routes end in `won`, `lost`, `disqualified`, `done` (a neutral exit), `nurture`"
            " (back after `[nurture].after`), and for delivery stages `live` (go-live: go-live"
            " invoices and subscription terms start) or `churned` (the rest of the deal is"
            " cancelled).", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown())
