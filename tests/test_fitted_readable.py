"""A fitted scenario and its summary.md are readable: long arrays (an empirical distribution's
hundreds of values, hour profiles) span lines of about 100 characters and load back as exactly
the same numbers; summary.md shows parameters as ``name=value``, not Python dict reprs.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import revsim
from revsim.calibrate import fitted as fitted_module
from revsim.calibrate import toml_text
from revsim.calibrate.fitted import FittedScenario

DATA = Path(__file__).parent / "data"
LOGS = [("maven_pipeline_sample.csv", "maven"), ("canonical_log.csv", "canonical"),
        ("hubspot_deals.csv", "hubspot"), ("stripe_invoices.csv", "stripe")]


@pytest.fixture(scope="module")
def fits() -> dict[str, FittedScenario]:
    return {name: revsim.fit(DATA / name, format=fmt) for name, fmt in LOGS}


def _one_line(fitted: FittedScenario, monkeypatch: pytest.MonkeyPatch) -> str:
    # the writer as it was: every value on the line of its key
    with monkeypatch.context() as m:
        m.setattr(toml_text, "_WIDTH", 10**9)
        return fitted.to_toml()


def test_the_maven_fit_wraps_its_empirical_delay_and_loads_back_the_same(
        fits: dict[str, FittedScenario], monkeypatch: pytest.MonkeyPatch) -> None:
    fitted = fits["maven_pipeline_sample.csv"]
    text, flat = fitted.to_toml(), _one_line(fitted, monkeypatch)
    delay = fitted.raw["stages"]["engaging"]["delay"]
    assert delay["dist"] == "empirical" and len(delay["values"]) > 100
    assert max(len(line) for line in flat.splitlines()) > 1000  # what there was to wrap
    assert text.count("\n") > flat.count("\n") + 20
    assert tomllib.loads(text) == tomllib.loads(flat)
    loaded = revsim.loads(text).raw["stages"]["engaging"]["delay"]
    assert loaded["values"] == pytest.approx(delay["values"], rel=1e-12, abs=0)
    assert loaded["unit"] == delay["unit"]


@pytest.mark.parametrize(("name", "fmt"), LOGS, ids=[n for n, _ in LOGS])
def test_no_line_of_a_fitted_scenario_is_long(fits: dict[str, FittedScenario], name: str,
                                              fmt: str, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    fitted = fits[name]
    text = fitted.to_toml()
    assert tomllib.loads(text) == tomllib.loads(_one_line(fitted, monkeypatch))
    assert max(len(line) for line in text.splitlines()) <= 200
    # the values themselves, not the comments or a file name in the description, keep to 100
    long = [line for line in text.splitlines() if len(line) > 100
            and not line.startswith(("#", "description = "))]
    assert not long, long
    assert text.splitlines()[1].startswith(f"# log: {name}; as of ")


_SCALARS = st.one_of(st.integers(-10**9, 10**9), st.booleans(), st.text(max_size=30),
                     st.floats(allow_nan=False, allow_infinity=False, width=32))
# control characters other than line breaks become U+FFFD in both forms (a scenario may not
# hold them), so two such keys would collide whichever way they were written
_KEYS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"],
                              include_characters="\n\t"), min_size=1, max_size=12)
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=60)
                       | st.dictionaries(_KEYS, inner, max_size=6), max_leaves=200)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_any_value_written_over_several_lines_loads_as_on_one_line(value: Any) -> None:
    lines = toml_text.assign("key", value)
    assert tomllib.loads("\n".join(lines)) == tomllib.loads(f"key = {toml_text.toml_value(value)}")


def test_a_long_array_keeps_its_lines_short() -> None:
    lines = toml_text.assign("delay", {"dist": "empirical",
                                            "values": [float(i) * 1.5 for i in range(500)]})
    assert len(lines) > 20 and lines[0] == 'delay = { dist = "empirical", values = ['
    assert max(len(line) for line in lines) <= 100


def test_a_long_table_without_arrays_becomes_dotted_keys() -> None:
    routes = {f"stage_{i:02d}": round(1 / 30, 6) for i in range(30)}
    lines = toml_text.assign("routes", routes)
    assert lines[0] == "routes.stage_00 = 0.033333" and len(lines) == 30
    assert tomllib.loads("\n".join(lines)) == {"routes": routes}


def test_summary_md_has_tables_not_python_reprs(fits: dict[str, FittedScenario],
                                                tmp_path: Path) -> None:
    fitted = fits["maven_pipeline_sample.csv"]
    fitted.write_report(tmp_path, plots=False)
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "{'" not in text and "[('" not in text and "': " not in text
    best = fitted.fits["stages.engaging.delay"].table.iloc[0]
    sigma = best["params"]["sigma"]
    assert f"| {best['family']} | sigma={sigma:.4g}, median=" in text
    prose = [line for line in text.splitlines() if not line.startswith("|")]
    assert max(len(line) for line in prose) <= 100
    assert max(len(line) for line in text.splitlines()) <= 250
    assert "still open (right-censored" in text and "## Notes" in text


def test_a_cell_cannot_end_a_table_row() -> None:
    assert fitted_module._cell({"a|b": 0.123456, "c": [1, 2.0]}) == "a\\|b=0.1235, c=1, 2"
    assert fitted_module._cell("two\nlines") == "two\\nlines"


def test_keys_and_labels_beyond_plain_ascii_load_back() -> None:
    # a key ending in a line break is quoted (a bare one would break the line), and a
    # character beyond U+FFFF is one TOML escape, not a surrogate pair TOML refuses
    value = {"won\n": "deal \U0001f600", "é": ["x\U0001f680"]}
    assert tomllib.loads("\n".join(toml_text.assign("routes", value))) == {"routes": value}
