"""How one fitted quantity becomes a scenario value with its evidence: the vocabulary shared by
derive and its parts (derive_arrivals, derive_stages, derive_cash).

``try_fit`` fits a duration or says in a note why it could not; ``fit_comment`` words the
evidence of a fit (n, censoring, the family chosen by AIC, KS); ``scenario_key`` turns a log's
stage or source name into a scenario key; ``hours_text`` writes a duration as the TOML does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from revsim.calibrate.fitting import DurationFit, fit_duration
from revsim.scenario.schema import TERMINALS

MIN_FIT = 5  # fewer uncensored observations than this: a fixed median instead of a fit


KEY_CHARS = 60  # a longer label is cut: keys name report files too, and file names are short


def scenario_key(name: str) -> str:
    """A safe stage name: lower case, words joined by underscores, at most KEY_CHARS long,
    never an outcome name."""
    key = re.sub(r"[^0-9a-zA-Z_]+", "_", str(name)).strip("_").lower()[:KEY_CHARS].strip("_") \
        or "stage"
    return f"{key}_stage" if key in TERMINALS or key == "nurture" else key


def scenario_keys(names: Iterable[object]) -> dict[str, str]:
    """``scenario_key`` of each name, kept distinct: names that differ only in letter case or
    punctuation ("Demo", "demo") would share a key, and one would overwrite the other in the
    scenario; the second gets ``_2``, the third ``_3``."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        if str(name) in out:
            continue
        key = base = scenario_key(str(name))
        n = 2
        while key in used:
            key, n = f"{base}_{n}", n + 1
        used.add(key)
        out[str(name)] = key
    return out


def hours_text(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.3g} d"
    if hours >= 1:
        return f"{hours:.3g} h"
    return f"{max(hours * 60, 0.01):.3g} min"


def fit_comment(fit: DurationFit) -> str:
    table = fit.table
    n = int(table["n"].iloc[0]) if "n" in table else 0
    n_cens = int(table["n_censored"].iloc[0]) if "n_censored" in table else 0
    best = table.sort_values("aic").iloc[0]
    text = (f"n={n} ({n_cens} censored at as-of); {fit.best} by censored ML, best of "
            f"{len(table)} by AIC ({best['aic']:.1f}); KS {best['ks_stat']:.3f} "
            f"(p={best['ks_p']:.2g}) on the uncensored part")
    if fit.note:
        text += f"; {fit.note}"
    return text


def try_fit(durations: Any, observed: Any, name: str, notes: list[str]) -> DurationFit | None:
    """``fit_duration``, or None (with a note) when the data cannot be fitted: e.g. every
    duration is 0 because the log has dates only and both events fell on the same day."""
    try:
        return fit_duration(durations, observed, name=name)
    except ValueError as err:
        notes.append(f"{name}: {err}; a fixed median is used instead")
        return None
