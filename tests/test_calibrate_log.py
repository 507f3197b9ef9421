"""Reading and validating canonical event logs (revsim.calibrate.log and .mapping)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import revsim
from revsim.calibrate import EventLog, LogError, Mapping, load_mapping, read_event_log
from revsim.errors import RevsimError

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_lines(source: object, **kwargs: object) -> list[str]:
    with pytest.raises(LogError) as info:
        read_event_log(source, **kwargs)  # type: ignore[arg-type]
    return info.value.lines()


# --- the canonical log -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def canonical() -> EventLog:
    return read_event_log(DATA / "canonical_log.csv", as_of="2024-03-31T23:59:59Z")


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_separators_read_like_commas(canonical: EventLog, tmp_path: Path,
                                           sep: str) -> None:
    """Spreadsheet exports in many locales separate values with semicolons, others with tabs."""
    table = pd.read_csv(DATA / "canonical_log.csv", dtype=str, keep_default_na=False,
                        skip_blank_lines=False)
    path = tmp_path / "log.csv"
    table.to_csv(path, sep=sep, index=False)
    other = read_event_log(path, as_of="2024-03-31T23:59:59Z")
    pd.testing.assert_frame_equal(other.events.reset_index(drop=True),
                                  canonical.events.reset_index(drop=True))


def test_canonical_columns_and_types(canonical: EventLog) -> None:
    ev = canonical.events
    assert list(ev.columns[:12]) == ["case_id", "activity", "timestamp", "object_type",
                                     "parent_id", "account_id", "resource", "role", "lifecycle",
                                     "amount", "currency", "due_date"]
    assert list(ev.columns[12:]) == ["segment", "lead_source"]
    assert str(ev["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(ev["due_date"].dtype) == "datetime64[ns, UTC]"
    assert ev["amount"].dtype == float
    assert ev.index.name == "row"
    assert set(ev["lifecycle"]) == {"complete"}


def test_offsets_are_converted_to_utc(canonical: EventLog) -> None:
    ev = canonical.events.set_index(["case_id", "activity"])
    assert ev.loc[("L1", "lead_created"), "timestamp"] == pd.Timestamp("2024-01-02 08:00", tz="UTC")
    assert ev.loc[("L2", "lead_created"), "timestamp"] == pd.Timestamp("2024-01-10 13:00", tz="UTC")
    # a date alone is midnight UTC
    assert ev.loc[("L3", "lead_created"), "timestamp"] == pd.Timestamp("2024-02-01", tz="UTC")
    assert ev.loc[("I1", "invoice_issued"), "due_date"] == pd.Timestamp("2024-03-22", tz="UTC")


def test_sorted_by_case_then_time_with_source_rows(canonical: EventLog) -> None:
    ev = canonical.events
    assert list(ev["case_id"]) == sorted(ev["case_id"])
    for _, case in ev.groupby("case_id"):
        assert case["timestamp"].is_monotonic_increasing
    # row numbers as a spreadsheet shows them: header = 1; the blank line is row 10
    assert ev.loc[ev["activity"] == "closed_won"].index.tolist() == [11]
    assert ev.loc[(ev["case_id"] == "L1") & (ev["activity"] == "lead_created")].index.tolist() == [2]


def test_no_row_dropped_silently(canonical: EventLog) -> None:
    data_rows = len((DATA / "canonical_log.csv").read_text().splitlines()) - 1
    assert canonical.skipped == {"blank line": 1, "after as-of": 1}
    assert len(canonical.events) + sum(canonical.skipped.values()) == data_rows
    assert "L4" not in set(canonical.events["case_id"])  # created after the as-of time


def test_object_type_inferred_when_blank(canonical: EventLog) -> None:
    types = canonical.events.groupby("case_id")["object_type"].agg(set)
    assert types["L3"] == {"lead"}
    assert types["O2"] == {"opportunity"}  # stage: events of a case without lead activities
    assert types["I1"] == {"invoice", "payment"}  # as given


def test_attributes_pass_through(canonical: EventLog) -> None:
    ev = canonical.events
    assert set(ev["segment"]) == {"smb", "mid", "ent"}
    assert ev.loc[ev["case_id"] == "O2", "amount"].iloc[0] == pytest.approx(45000.5)
    assert ev.loc[ev["case_id"] == "O1", "parent_id"].unique().tolist() == ["L1"]


def test_as_of_defaults_to_latest_event() -> None:
    log = read_event_log(DATA / "canonical_log.csv")
    assert log.as_of == pd.Timestamp("2024-04-02 08:00", tz="UTC")
    assert log.skipped == {"blank line": 1}
    assert log.start == pd.Timestamp("2024-01-02 08:00", tz="UTC")
    assert log.end == log.as_of


def test_describe_is_a_plain_summary(canonical: EventLog) -> None:
    text = canonical.describe()
    assert "7 cases, 19 events" in text
    assert "lead: 3 cases, 9 events" in text
    assert "payment: 1 case, 1 event" in text
    assert "2024-01-02 08:00 to 2024-03-28 10:00 UTC" in text
    assert "as of 2024-03-31 23:59 UTC" in text
    assert "1 blank line" in text and "1 after as-of" in text
    assert "open at as-of (censored): 3 cases" in text  # L3, O2, I2


# --- XES / pm4py names -------------------------------------------------------------------------

def test_xes_aliases() -> None:
    log = read_event_log(DATA / "xes_log.csv")
    ev = log.events
    assert {"case_id", "activity", "timestamp", "resource", "role", "lifecycle", "segment"} <= \
        set(ev.columns)
    assert not any(":" in c for c in ev.columns if c not in ("activity",))
    assert ev["lifecycle"].tolist() == ["complete", "start", "complete", "complete", "complete",
                                        "complete"]
    assert ev.loc[ev["case_id"] == "O11", "resource"].unique().tolist() == ["Pete"]
    assert ev["timestamp"].iloc[0] == pd.Timestamp("2024-05-01 07:00", tz="UTC")


XES_NAMES = {"case_id": "case:concept:name", "activity": "concept:name",
             "timestamp": "time:timestamp", "resource": "org:resource", "role": "org:role",
             "lifecycle": "lifecycle:transition"}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.booleans(), min_size=len(XES_NAMES), max_size=len(XES_NAMES)))
def test_xes_and_canonical_spellings_read_the_same(use_alias: list[bool]) -> None:
    base = pd.read_csv(DATA / "xes_log.csv", dtype=str).rename(
        columns={v: k for k, v in XES_NAMES.items()})
    renamed = base.rename(columns={k: v for (k, v), alias in zip(XES_NAMES.items(), use_alias,
                                                                 strict=True) if alias})
    ours = read_event_log(renamed).events
    reference = read_event_log(base).events
    pd.testing.assert_frame_equal(ours, reference)


def test_both_spellings_of_a_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "case_id,case:concept:name,activity,timestamp\n"
                           "O1,O1,opportunity_created,2024-01-01T00:00:00Z\n")
    lines = error_lines(path)
    assert any("both case:concept:name and case_id" in line for line in lines)


# --- timestamps (property tests) ---------------------------------------------------------------

offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: dt.timedelta(minutes=15 * q))
instants = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)) \
    .map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


def one_log(elements: Callable[[st.SearchStrategy[dt.datetime]], st.SearchStrategy[Any]],
            max_size: int = 20) -> st.SearchStrategy[list]:
    """Lists of ``elements(times)`` whose times lie within 300 days of one start between 1990
    and 2099: a log's events decades from the rest are left out (tests/test_journeys.py)."""
    def near(start: dt.datetime) -> st.SearchStrategy[list]:
        times = st.datetimes(min_value=start, max_value=start + dt.timedelta(days=300)).map(
            lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
        return st.lists(elements(times), min_size=1, max_size=max_size)
    return st.datetimes(min_value=dt.datetime(1990, 1, 1),
                        max_value=dt.datetime(2099, 1, 1)).flatmap(near)


def iso(local: dt.datetime, offset: dt.timedelta | None, sep: str, colon: bool) -> str:
    text = local.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if local.microsecond:
        text += f".{local.microsecond // 1000:03d}"
    if offset is None:
        return text
    if offset == dt.timedelta(0) and colon:
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return text + f"{sign}{hh:02d}{':' if colon else ''}{mm:02d}"


@settings(max_examples=60, deadline=None)
@given(one_log(lambda times: st.tuples(times, offsets, st.sampled_from(["T", " "]),
                                       st.booleans())))
def test_offset_aware_times_normalise_to_utc(values: list[tuple]) -> None:
    texts, expected = [], []
    for utc, offset, sep, colon in values:
        texts.append(iso(utc + offset, offset, sep, colon))
        expected.append(pd.Timestamp(utc, tz="UTC"))
    frame = pd.DataFrame({"case_id": [f"C{i}" for i in range(len(texts))],
                          "activity": "lead_created", "timestamp": texts})
    ev = read_event_log(frame).events.sort_index()
    assert ev["timestamp"].tolist() == expected


@settings(max_examples=40, deadline=None)
@given(one_log(lambda times: times), st.sampled_from(["T", " "]))
def test_all_naive_times_are_utc(values: list[dt.datetime], sep: str) -> None:
    frame = pd.DataFrame({"case_id": [f"C{i}" for i in range(len(values))],
                          "activity": "mql", "timestamp": [iso(v, None, sep, True) for v in values]})
    ev = read_event_log(frame).events.sort_index()
    assert ev["timestamp"].tolist() == [pd.Timestamp(v, tz="UTC") for v in values]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(instants, offsets), min_size=1, max_size=10),
       st.lists(instants, min_size=1, max_size=10), st.randoms())
def test_mixing_naive_and_offset_times_is_an_error(aware: list[tuple], naive: list[dt.datetime],
                                                   rnd: object) -> None:
    texts = [iso(u + o, o, "T", True) for u, o in aware] + [iso(v, None, "T", True) for v in naive]
    is_naive = [False] * len(aware) + [True] * len(naive)
    order = list(range(len(texts)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    frame = pd.DataFrame({"case_id": [f"C{i}" for i in order], "activity": "sql",
                          "timestamp": [texts[i] for i in order]})
    lines = error_lines(frame, name="mixed.csv")
    assert len(lines) == 1 and "without a UTC offset" in lines[0]
    naive_rows = sorted(pos + 2 for pos, i in enumerate(order) if is_naive[i])
    shown = re.search(r"rows? ([\d, ]+)", lines[0])
    assert shown is not None
    assert [int(r) for r in shown.group(1).split(", ")] == naive_rows[:5]


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="0123456789-:/TZ .abc", min_size=1, max_size=12))
def test_garbage_times_give_an_error_not_a_traceback(text: str) -> None:
    frame = pd.DataFrame({"case_id": ["C1"], "activity": ["mql"], "timestamp": [text]})
    try:
        log = read_event_log(frame)
    except LogError as err:
        assert all(line.startswith("<DataFrame>: ") for line in err.lines())
    else:
        assert log.events["timestamp"].notna().all()


# --- errors ------------------------------------------------------------------------------------

def test_every_problem_kind_at_once() -> None:
    lines = error_lines(DATA / "broken_everything.csv")
    text = "\n".join(lines)
    assert all(line.startswith(str(DATA / "broken_everything.csv") + ": ") for line in lines)
    expected = [
        ("row 10: blank case_id", None),
        ('row 11: not a canonical activity: "Demo Call"', "mapping file"),
        ('row 7: unparseable time "2024-13-01T09:00:00Z"', "ISO 8601"),
        ('row 16: unknown object_type "opp"', "use lead, opportunity, invoice or payment"),
        ('row 15: amount is not a number "12,000"', "plain numbers"),
        ("row 4: event earlier than the previous event of its case", "sort each case"),
        ("row 9: duplicate event", "delete the repeated rows"),
        ("row 12: due date before the event's time (negative duration", "check the due dates"),
        ("row 13: case ends before its first event (negative duration", "check the time"),
        ('row 6: case reaches a terminal (closed_won, closed_lost, disqualified) more than once '
         '(e.g. case "O1"', "new case_id"),
    ]
    for what, fix in expected:
        matching = [line for line in lines if what in line]
        assert matching, f"{what!r} not in:\n{text}"
        if fix:
            assert fix in matching[0]
    assert len(lines) == len(expected)


def test_row_lists_are_cut_after_five() -> None:
    lines = error_lines(DATA / "broken_timestamps.csv")
    assert len(lines) == 1
    assert ('timestamp: rows 2, 4, 6, 8, 10 (+3 more): a date that is not ISO 8601: "21-10-16"'
            in lines[0])


def test_mixed_time_zones_fixture() -> None:
    lines = error_lines(DATA / "broken_mixed_tz.csv")
    assert len(lines) == 1
    assert "rows 3, 5: time without a UTC offset" in lines[0]
    assert '"2024-01-02 10:00:00"' in lines[0] and "+00:00" in lines[0]


def test_missing_columns_fixture() -> None:
    (line,) = error_lines(DATA / "broken_missing_columns.csv")
    assert "missing required columns case_id, activity, timestamp" in line
    assert "columns found: id, event, time" in line and "adapter" in line


def test_log_error_is_a_revsim_error() -> None:
    with pytest.raises(LogError) as info:
        read_event_log(DATA / "broken_mixed_tz.csv")
    assert isinstance(info.value, RevsimError) and isinstance(info.value, ValueError)
    assert str(info.value) == "\n".join(info.value.lines())


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("case_id,activity,timestamp\n", "no events"),
    ("case_id,activity,timestamp\n\n\n", "no events"),
])
def test_empty_logs(tmp_path: Path, text: str, message: str) -> None:
    (line,) = error_lines(write(tmp_path, text))
    assert message in line


@pytest.mark.parametrize("text, message", [
    ("case_id,activity,timestamp\nO1,mql,2024-01-01\nO1,sql,2024-01-02,x\n",
     "row 3: more values than the 3 columns of the header"),
    ("case_id,activity,timestamp\nO1,mql,2024-01-01,x\n",
     "row 2: more values than the 3 columns of the header"),
])
def test_ragged_csv(tmp_path: Path, text: str, message: str) -> None:
    (line,) = error_lines(write(tmp_path, text))
    assert message in line and "quote values that contain commas" in line


def test_encodings(tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfcase_id,activity,timestamp\nO1,mql,2024-01-01\n")
    assert read_event_log(bom).events["case_id"].tolist() == ["O1"]
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"case_id,activity,timestamp,city\nO1,mql,2024-01-01,M\xfcnster\n")
    (line,) = error_lines(latin)
    assert "not UTF-8" in line


def test_file_not_found(tmp_path: Path) -> None:
    (line,) = error_lines(tmp_path / "nope.csv")
    assert "nope.csv" in line and "file not found" in line


def test_as_of_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "case_id,activity,timestamp\nO1,opportunity_created,2024-01-02\n")
    (line,) = error_lines(path, as_of="yesterday-ish")
    assert 'as_of: "yesterday-ish" is not an ISO 8601 date or time' in line
    (line,) = error_lines(path, as_of="2023-12-31")
    assert "every event is after the as-of time" in line


def test_as_of_skips_and_counts(tmp_path: Path) -> None:
    path = write(tmp_path, "case_id,activity,timestamp\n"
                           "O1,opportunity_created,2024-01-02T00:00:00Z\n"
                           "O1,closed_won,2024-01-09T00:00:00Z\n"
                           "O2,opportunity_created,2024-01-05T00:00:00Z\n")
    log = read_event_log(path, as_of=dt.datetime(2024, 1, 6, tzinfo=dt.UTC))
    assert log.skipped == {"after as-of": 1}
    assert log.as_of == pd.Timestamp("2024-01-06", tz="UTC")
    assert list(log.open_cases()) == ["O1", "O2"]  # O1's win is after the extract


def test_start_complete_pairs_are_not_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path, "case_id,activity,timestamp,lifecycle\n"
                           "O1,stage:demo,2024-01-02T00:00:00Z,start\n"
                           "O1,stage:demo,2024-01-02T00:00:00Z,complete\n")
    assert len(read_event_log(path).events) == 2


def test_surrounding_spaces_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "case_id,activity,timestamp\n"
                           " O1 , opportunity_created , 2024-01-02T00:00:00Z \n")
    ev = read_event_log(path).events
    assert ev[["case_id", "activity"]].iloc[0].tolist() == ["O1", "opportunity_created"]
    assert ev["timestamp"].iloc[0] == pd.Timestamp("2024-01-02", tz="UTC")


def test_many_unknown_labels_are_summarised(tmp_path: Path) -> None:
    rows = "".join(f"O{i},Label {i},2024-01-02T00:00:00Z\n" for i in range(14))
    lines = error_lines(write(tmp_path, "case_id,activity,timestamp\n" + rows))
    assert len(lines) == 11
    assert "+4 more unmapped labels" in lines[-1]


def test_dataframe_rows_are_numbered_like_the_csv() -> None:
    frame = pd.DataFrame({"case_id": ["O1", "O1"], "activity": ["closed_won", "closed_lost"],
                          "timestamp": ["2024-01-02", "2024-01-03"]})
    (line,) = error_lines(frame, name="export.xlsx")
    assert line.startswith("export.xlsx: activity: row 3: case reaches a terminal")


# --- mapping -----------------------------------------------------------------------------------

def test_mapping_file() -> None:
    mapping = load_mapping(DATA / "raw_mapping.toml")
    assert mapping.activities["Won"] == "closed_won"
    assert mapping.stages == ["prospecting", "engaging"]
    out = mapping.apply(["Won", " Engaging ", "lead_created", "Signed", "stage:x"])
    assert out.tolist()[:3] == ["closed_won", "stage:engaging", "lead_created"]
    assert pd.isna(out.iloc[3]) and out.iloc[4] == "stage:x"
    assert mapping.unmapped(["Won", "Signed", "Demo Call", "Signed"]) == ["Demo Call", "Signed"]


def test_labels_missing_from_the_mapping_are_listed_with_rows() -> None:
    lines = error_lines(DATA / "raw_labels_log.csv", mapping=DATA / "raw_mapping.toml")
    assert len(lines) == 2
    assert 'activity: rows 7, 10: activity not in the mapping: "Demo Call"' in lines[0]
    assert 'row 11: activity not in the mapping: "Signed"' in lines[1]
    assert "raw_mapping.toml" in lines[0]


def test_complete_mapping_reads_raw_labels() -> None:
    base = load_mapping(DATA / "raw_mapping.toml")
    mapping = Mapping({**base.activities, "Demo Call": "stage:demo", "Signed": "closed_won"},
                      base.stages)
    log = read_event_log(DATA / "raw_labels_log.csv", mapping=mapping)
    d2 = log.events[log.events["case_id"] == "D2"]["activity"].tolist()
    assert d2 == ["stage:prospecting", "stage:engaging", "stage:demo", "closed_lost"]
    assert log.events.loc[log.events["case_id"] == "D1", "activity"].iloc[0] == \
        "opportunity_created"  # canonical labels pass through


def _full_mapping(stages: list[str], source: str | None = None) -> Mapping:
    base = load_mapping(DATA / "raw_mapping.toml")
    return Mapping({**base.activities, "Demo Call": "stage:demo", "Signed": "closed_won"},
                   stages, source=source)


def test_the_mapping_order_orders_the_fitted_stages() -> None:
    def stages(order: list[str]) -> list[str]:
        fitted = revsim.fit(DATA / "raw_labels_log.csv", mapping=_full_mapping(order))
        return list(revsim.loads(fitted.to_toml()).raw["stages"])

    by_time = stages([])
    assert stages(["engaging", "prospecting"])[:2] == ["engaging", "prospecting"]
    assert stages(["demo"]) == ["demo", *[s for s in by_time if s != "demo"]]


def test_a_mapping_order_naming_no_stage_of_the_log_is_an_error() -> None:
    (line,) = error_lines(DATA / "raw_labels_log.csv",
                          mapping=_full_mapping(["prospecting", "demos"], source="m.toml"))
    assert ("order.stages: 'demos' in the [order] of m.toml is not a stage of this log (its "
            "stages: demo, engaging, opportunity, prospecting)") in line


@pytest.mark.parametrize("text, message", [
    ('[activities]\n"Won" = "victory"\n', "'victory' is not a canonical activity"),
    ('[activities]\n"Won" = "stage:"\n', "is not a canonical activity"),
    ('[activites]\n"Won" = "closed_won"\n', "unknown table"),
    ('[order]\nstages = ["a"]\n', "activities: missing or empty"),
    ('[activities]\n"Won" = "closed_won"\n[order]\nstages = "a"\n', "must be a list"),
    ('[activities]\n"Won" = "closed_won"\n[order]\nstages = ["a", "a"]\n', "listed twice"),
    ("[activities\n", "invalid TOML"),
])
def test_mapping_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text, "map.toml")
    with pytest.raises(LogError) as info:
        load_mapping(path)
    assert any(message in line and line.startswith(str(path)) for line in info.value.lines())


# --- revsim's own export reads back ------------------------------------------------------------

def test_round_trip_of_a_simulated_event_log(tmp_path: Path) -> None:
    run = revsim.load(REPO / "scenarios" / "saas_sales_led.toml").run(
        replications=1, horizon="12 w", warmup="0 h", records=True)
    exported = run.event_log()
    path = tmp_path / "simulated.csv"
    exported.to_csv(path, index=False)
    log = read_event_log(path)
    assert len(log.events) == len(exported)
    assert log.n_cases == exported["case_id"].nunique()
    assert log.skipped == {}
    assert set(log.events["object_type"]) <= {"lead", "opportunity", "invoice", "payment"}
    # the exported ISO strings are the same instants
    expected = pd.to_datetime(exported["timestamp"], utc=True).sort_values().to_numpy()
    assert np.array_equal(log.events["timestamp"].sort_values().to_numpy(), expected)
