"""JSON Schema for distribution specs, so editors can complete and check scenario files.

The schema is a draft 2020-12 fragment without ``$ref``/``$id``: other schemas (e.g. pydantic's
``WithJsonSchema``) embed it verbatim, and pydantic treats every ``$ref`` as one of its own.
Mixture components are therefore checked fully one level deep and loosely below that.
"""

from __future__ import annotations

from typing import Any

from .spec import ALIASES, FAMILY_PARAMS

_SCALAR: dict[str, Any] = {
    "type": ["string", "number"],
    "description": 'A duration ("30 min"), an amount ("$1.2k") or a plain number.',
}
_NUMBER: dict[str, Any] = {"type": "number"}
_PROBS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "number", "minimum": 0, "maximum": 1},
    "minItems": 1,
}
_UNIT: dict[str, Any] = {
    "type": "string",
    "description": "Unit of bare numbers in a duration spec, e.g. h, min, d, w.",
}
_SHORTHAND: list[dict[str, Any]] = [
    {"type": "string", "description": 'A fixed duration or amount, e.g. "20 min", "$12k".'},
    {"type": "number", "description": "A fixed number or amount."},
]
# Below the first mixture level, components are only checked for being a value or a table.
_LOOSE_SPEC: dict[str, Any] = {
    "anyOf": [
        {"type": ["string", "number"]},
        {"type": "object", "required": ["dist"]},
    ],
}

_PARAMS: dict[str, dict[str, Any]] = {
    "mean": {**_SCALAR, "description": "Mean, in the field's unit."},
    "sd": {**_SCALAR, "description": "Standard deviation, in the field's unit."},
    "median": {**_SCALAR, "description": "Median (50% quantile), in the field's unit."},
    "p90": {**_SCALAR, "description": "90% quantile, in the field's unit; above the median."},
    "rate": {**_NUMBER, "exclusiveMinimum": 0, "description": "Events per unit (numbers only)."},
    "sigma": {**_NUMBER, "exclusiveMinimum": 0, "description": "Sd of log X (unitless)."},
    "mu": {**_NUMBER, "description": "Mean of log X (log of the value in hours for durations)."},
    "shape": {**_NUMBER, "exclusiveMinimum": 0, "description": "Shape parameter (unitless)."},
    "scale": {**_SCALAR, "description": "Scale parameter, in the field's unit."},
    "low": {**_SCALAR, "description": "Lower bound."},
    "mode": {**_SCALAR, "description": "Most likely value."},
    "high": {**_SCALAR, "description": "Upper bound."},
    "value": {**_SCALAR, "description": "The fixed value."},
    "values": {
        "type": "array",
        "items": {"type": ["string", "number"]},
        "minItems": 1,
        "description": "Observed or possible values.",
    },
    "p": {**_PROBS, "description": "Probability of each value; sums to 1."},
    "weights": {**_PROBS, "description": "Probability of each component; sums to 1."},
}
_COMPONENTS_DOC = "Component distributions (they inherit unit from the mixture)."

_DESCRIPTIONS = {
    "exponential": "Exponential (memoryless) with the given mean.",
    "lognormal": "Lognormal: mean+sd, median+p90, median+sigma or mu+sigma.",
    "gamma": "Gamma: shape+scale or mean+sd.",
    "weibull": "Weibull with shape and scale.",
    "triangular": "Triangular on [low, high] peaking at mode.",
    "uniform": "Uniform on [low, high].",
    "deterministic": "Always the same value (alias: fixed).",
    "empirical": "Resample the given values with replacement.",
    "choice": "One of the values, with probabilities p.",
    "mixture": "Pick a component by weight, then draw from it.",
}


def _family(name: str, component: dict[str, Any]) -> dict[str, Any]:
    alts = FAMILY_PARAMS[name]
    keys = sorted({k for alt in alts for k in alt})
    names = [name, *(a for a, target in ALIASES.items() if target == name)]
    schema: dict[str, Any] = {
        "type": "object",
        "title": name,
        "description": _DESCRIPTIONS[name],
        "properties": {
            "dist": {"enum": names} if len(names) > 1 else {"const": name},
            "unit": _UNIT,
            **{k: _PARAMS[k] for k in keys if k != "components"},
        },
        "required": ["dist"],
        "additionalProperties": False,
    }
    if name == "mixture":
        schema["properties"]["components"] = {
            "type": "array",
            "items": component,
            "minItems": 1,
            "description": _COMPONENTS_DOC,
        }
    if len(alts) == 1:
        schema["required"] += list(alts[0])
    else:
        schema["oneOf"] = [
            {"required": list(alt), "properties": {k: False for k in keys if k not in alt}}
            for alt in alts
        ]
    return schema


_SCIPY: dict[str, Any] = {
    "type": "object",
    "title": "scipy",
    "description": (
        "Any continuous scipy.stats distribution by name, with its shape parameters and "
        "loc/scale; its support must be bounded below."
    ),
    "properties": {
        "dist": {"const": "scipy"},
        "unit": _UNIT,
        "name": {"type": "string", "description": "scipy.stats name, e.g. gamma, lognorm."},
        "loc": {**_SCALAR, "description": "Shift, in the field's unit."},
        "scale": {**_SCALAR, "description": "Scale, in the field's unit."},
    },
    "required": ["dist", "name"],
    "additionalProperties": {"type": "number", "description": "A scipy shape parameter."},
}


def _spec_schema(component: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *_SHORTHAND,
        *(_family(name, component) for name in FAMILY_PARAMS if name != "scipy"),
        _SCIPY,
    ]


SPEC_JSON_SCHEMA: dict[str, Any] = {
    "title": "revsim distribution",
    "description": (
        'A fixed value ("20 min", 12000, "$1.2k") or a table with dist = <family>. Durations '
        'need units ("30 min") unless the table has unit = "h" (or min, d, w, ...).'
    ),
    "oneOf": _spec_schema({"oneOf": _spec_schema(_LOOSE_SPEC)}),
}
