"""``revsim state``: the snapshot of a log at an as-of date, checked against independent pandas
readings of the raw exports shipped in tests/data (Maven CRM pipeline, an AR export, the
canonical log), plus dead items, work status and bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import revsim
from revsim.calibrate.crm_adapters import maven_pipeline
from revsim.cli import main
from revsim.errors import StateError
from revsim.state.build import DEAD_PATIENCE, DEAD_STALE, IN_NURTURE, NO_STAGE
from revsim.state.snapshot import IN_WORK, UNKNOWN, WAITING

DATA = Path(__file__).parent / "data"
MAVEN = DATA / "maven_crm_sales_pipeline.csv"
CANONICAL = DATA / "canonical_log.csv"
AR = DATA / "generic_ar.csv"

MAVEN_SCENARIO = """
[scenario]
name = "maven"
start = 2016-10-20
horizon = "52 w"
[sources.deals]
rate = "150/w"
to = "engaging"
[stages.engaging]
delay = { dist = "lognormal", median = "40 d", p90 = "110 d" }
routes = { won = 0.63, lost = 0.37 }
"""

FUNNEL_SCENARIO = """
[scenario]
name = "funnel"
start = 2024-01-01
horizon = "10 w"
[segments.smb]
value = 1000
[segments.mid]
value = 2000
[segments.ent]
value = 5000
[sources.inbound]
rate = "5/w"
to = "mql"
[pools.sdr]
headcount = 2
[pools.ae]
headcount = 2
[stages.mql]
event = "mql"
pool = "sdr"
work = "1 h"
routes = { sql = 1.0 }
[stages.sql]
event = "sql"
delay = "1 d"
routes = { opportunity = 1.0 }
[stages.opportunity]
event = "opportunity_created"
delay = "1 d"
routes = { discovery = 1.0 }
[stages.discovery]
pool = "ae"
work = "2 h"
routes = { proposal = 0.5, lost = 0.5 }
[stages.proposal]
delay = "10 d"
routes = { won = 0.5, lost = 0.5 }
[deals.contract]
type = "subscription"
term = "12 mo"
[payment]
on_time = 0.8
late = 0.2
lateness = "10 d"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def maven_model() -> object:
    return revsim.loads(MAVEN_SCENARIO).model


@pytest.fixture(scope="module")
def maven_raw() -> pd.DataFrame:
    raw = pd.read_csv(MAVEN, dtype=str)
    raw["engage"] = pd.to_datetime(raw["engage_date"], format="%d-%m-%y")
    raw["close"] = pd.to_datetime(raw["close_date"], format="%d-%m-%y")
    return raw


@pytest.mark.parametrize("as_of", ["2017-03-31", "2017-06-30", "2017-12-31"])
def test_maven_open_deals_are_the_exports_own(maven_model: object, maven_raw: pd.DataFrame,
                                              as_of: str) -> None:
    """Open at as-of: engaged by then and not closed by then. Those open longer than the
    longest deal closed by then are dead (stale), the others are open items in engaging."""
    snap = revsim.build_state(MAVEN, scenario=maven_model, as_of=as_of, format="maven")
    cut = pd.Timestamp(as_of)
    raw = maven_raw[maven_raw["deal_stage"] != "Prospecting"]
    is_open = (raw["engage"] <= cut) & (raw["close"].isna() | (raw["close"] > cut))
    closed = raw["close"] <= cut
    longest = (raw["close"] - raw["engage"])[closed].max()
    stale = is_open & (cut - raw["engage"] > longest)
    expected = raw[is_open & ~stale].set_index("opportunity_id")["engage"]
    assert {i.id: i.entered_stage for i in snap.items} == {
        k: v.to_pydatetime() for k, v in expected.items()}
    assert {i.stage for i in snap.items} == {"engaging"}
    assert all(i.status == UNKNOWN and i.pool is None for i in snap.items)
    assert snap.dead == ({DEAD_STALE: int(stale.sum())} if stale.any() else {})
    assert sorted(i for i, _ in snap.dead_items) == sorted(raw.loc[stale, "opportunity_id"])
    late = int((raw["engage"] > cut).sum() + (raw["close"] > cut).sum())
    prospecting = int((maven_raw["deal_stage"] == "Prospecting").sum())
    assert snap.skipped == {"maven: Prospecting deal without dates": prospecting,
                            **({"after as-of": late} if late else {})}
    assert snap.invoices == () and snap.customers == ()


def test_a_snapshot_uses_nothing_after_its_as_of(maven_model: object) -> None:
    """The same snapshot from the export and from its canonical events cut at as-of."""
    as_of = "2017-05-15"
    full = revsim.build_state(MAVEN, scenario=maven_model, as_of=as_of, format="maven")
    events = maven_pipeline(MAVEN)
    stamps = pd.to_datetime(events["timestamp"], utc=True)
    cut = events[(stamps <= pd.Timestamp(as_of, tz="UTC")).to_numpy()]
    early = revsim.build_state(cut, scenario=maven_model, as_of=as_of)
    assert early.items == full.items and early.dead_items == full.dead_items
    assert len(early.items) > 100


def test_open_invoices_of_an_ar_export(tmp_path: Path) -> None:
    raw = pd.read_csv(AR, dtype=str).drop_duplicates()
    issued = pd.to_datetime(raw["document_create_date"], format="%Y%m%d")
    cleared = pd.to_datetime(raw["clear_date"])
    model = revsim.loads(FUNNEL_SCENARIO).model
    for as_of in ("2020-02-01", "2020-03-30"):
        snap = revsim.build_state(AR, scenario=model, as_of=as_of, format="ar")
        cut = pd.Timestamp(as_of)
        is_open = (issued <= cut) & (cleared.isna() | (cleared > cut))
        expected = {str(r.doc_id): float(r.total_open_amount) for r in raw[is_open].itertuples()}
        assert {i.id: i.outstanding for i in snap.invoices} == expected
        assert {i.id: i.issued for i in snap.invoices} == {
            str(d): t.date() for d, t in zip(raw["doc_id"], issued, strict=True)
            if str(d) in expected}
        assert all(i.dunning_step == 0 for i in snap.invoices)
        assert snap.items == ()


def test_the_canonical_log_gives_deals_invoices_and_customers() -> None:
    raw = pd.read_csv(CANONICAL, dtype=str).dropna(how="all")
    raw["t"] = pd.to_datetime(raw["timestamp"], format="ISO8601", utc=True)
    as_of = pd.Timestamp("2024-03-30", tz="UTC")
    snap = revsim.build_state(CANONICAL, scenario=revsim.loads(FUNNEL_SCENARIO), as_of=as_of)
    seen = raw[raw["t"] <= as_of]
    # open deals: opportunities with no closing event by as-of, in the stage they entered last
    opps = seen[seen["case_id"].str.startswith("O")]
    ended = set(opps.loc[opps["activity"].isin(["closed_won", "closed_lost"]), "case_id"])
    last = opps[~opps["case_id"].isin(ended)].groupby("case_id").last()
    assert {i.id: i.stage for i in snap.items} == {
        c: a.removeprefix("stage:") for c, a in last["activity"].items()}
    assert all(i.pool == "ae" for i in snap.items)
    invoices = seen[seen["activity"] == "invoice_issued"].set_index("case_id")
    paid = set(seen.loc[seen["activity"] == "invoice_paid", "case_id"])
    assert {i.id: i.outstanding for i in snap.invoices} == {
        c: float(a) for c, a in invoices["amount"].items() if c not in paid}
    won = seen[seen["activity"] == "closed_won"]
    assert [(c.start, c.arr, c.term_months) for c in snap.customers] == [
        (t.date(), float(a), 12) for t, a in zip(won["t"], won["amount"], strict=True)]
    assert [c.next_renewal for c in snap.customers] == [dt.date(2025, 2, 20)]
    assert snap.dead == {NO_STAGE: 1}  # a lead with a first touch and no stage yet
    assert "1 won deal has no go_live event: taken to start at signature" in snap.notes


AS_OF = pd.Timestamp("2027-03-01", tz="UTC")
STATUS_SCENARIO = """
[scenario]
name = "status"
start = 2027-01-04
horizon = "8 w"
[sources.web]
rate = "20/w"
to = "qualify"
[pools.sdr]
headcount = 2
[pools.ae]
headcount = 2
[stages.qualify]
event = "mql"
pool = "sdr"
work = "1 h"
patience = { on_expiry = "renege", after = "2 d" }
routes = { demo = 0.5, lost = 0.5 }
[stages.demo]
pool = "ae"
work = "2 h"
routes = { won = 0.5, lost = 0.5 }
"""


def status_log() -> pd.DataFrame:
    """Leads in every situation the builder tells apart, days before AS_OF."""
    rows: list[tuple[str, str, float, str]] = []

    def at(case: str, activity: str, days: float, lifecycle: str = "") -> None:
        rows.append((case, activity, days, lifecycle))

    at("L1", "mql", 5)                                        # waiting 5 d > patience 2 d
    at("L2", "mql", 1)                                        # waiting
    at("L3", "mql", 5), at("L3", "mql", 4, "start")           # in work since 4 d
    at("L4", "mql", 5), at("L4", "mql", 4.5, "start"), at("L4", "mql", 4, "complete")
    at("L5", "mql", 10), at("L5", "recycled", 9)              # in nurture
    at("L6", "lead_created", 3)                               # no stage yet
    for k in range(5):                                        # closed demos: 1 to 5 days
        case = f"L{7 + k}"
        at(case, "mql", 30), at(case, "mql", 29.5, "start"), at(case, "mql", 29, "complete")
        at(case, "stage:demo", 20), at(case, "closed_won" if k % 2 else "closed_lost", 19 - k)
    at("L12", "mql", 30), at("L12", "stage:demo", 8)          # open 8 d > longest 5 d: stale
    at("L13", "mql", 30), at("L13", "stage:demo", 2)          # open in demo
    frame = pd.DataFrame(rows, columns=["case_id", "activity", "days", "lifecycle"])
    stamps = AS_OF - pd.to_timedelta(frame.pop("days"), unit="D")
    frame.insert(2, "timestamp", stamps.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    frame.insert(3, "object_type", "lead")
    return frame.sort_values("timestamp", kind="stable")


def test_work_status_pool_load_and_dead_items() -> None:
    snap = revsim.build_state(status_log(), scenario=revsim.loads(STATUS_SCENARIO), as_of=AS_OF)
    by_id = {i.id: i for i in snap.items}
    assert {k: (v.stage, v.status) for k, v in by_id.items()} == {
        "L2": ("qualify", WAITING), "L3": ("qualify", IN_WORK), "L4": ("qualify", UNKNOWN),
        "L13": ("demo", UNKNOWN)}
    assert by_id["L3"].started_work == (AS_OF - pd.Timedelta(days=4)).tz_convert(None)
    assert by_id["L3"].entered_stage == (AS_OF - pd.Timedelta(days=5)).tz_convert(None)
    assert [(p.pool, p.wip, p.queue) for p in snap.pools] == [("sdr", 1, 1)]
    assert dict(snap.dead_items) == {"L1": DEAD_PATIENCE, "L5": IN_NURTURE, "L6": NO_STAGE,
                                     "L12": DEAD_STALE}
    assert snap.dead == {DEAD_PATIENCE: 1, IN_NURTURE: 1, NO_STAGE: 1, DEAD_STALE: 1}


def test_the_command_writes_the_folder_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "state"
    scenario = write(tmp_path, "funnel.toml", FUNNEL_SCENARIO)
    result = CliRunner().invoke(main, ["state", str(CANONICAL), "--as-of", "2024-03-30",
                                       "--scenario", str(scenario), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "open invoices: 1 (0 overdue), outstanding 800.00" in result.stdout
    assert "customers with live contracts: 1, ARR 21,000.00" in result.stdout
    assert f"1 {NO_STAGE}" in result.stdout
    built = revsim.build_state(CANONICAL, scenario=scenario, as_of="2024-03-30")
    assert revsim.read_state(out, scenario=scenario) == built


@pytest.mark.parametrize(("as_of", "says"), [
    ("2023-12-01", "is before the log's first event: the log spans 2024-01-02 08:00 to "
                   "2024-04-02 08:00 UTC; give an as-of within it"),
    ("2024-06-01", "is after the log's last event"),
    ("someday", "unparseable time 'someday'"),
])
def test_an_as_of_outside_the_log_is_an_error_and_writes_nothing(tmp_path: Path, as_of: str,
                                                                  says: str) -> None:
    out = tmp_path / "state"
    scenario = write(tmp_path, "funnel.toml", FUNNEL_SCENARIO)
    result = CliRunner().invoke(main, ["state", str(CANONICAL), "--as-of", as_of,
                                       "--scenario", str(scenario), "-o", str(out)])
    assert result.exit_code == 2
    assert says in result.stderr and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == [scenario]


def test_open_items_in_a_stage_the_scenario_lacks_are_an_error(tmp_path: Path) -> None:
    text = FUNNEL_SCENARIO.replace("routes = { discovery = 1.0 }", "routes = { proposal = 1.0 }")
    text = text.replace("[stages.discovery]\npool = \"ae\"\nwork = \"2 h\"\n"
                        "routes = { proposal = 0.5, lost = 0.5 }\n", "")
    with pytest.raises(StateError) as err:
        revsim.build_state(CANONICAL, scenario=revsim.loads(text), as_of="2024-03-30",
                           out=tmp_path / "state")
    (line,) = err.value.lines()
    assert line.startswith(f"{CANONICAL}: stage: 1 open item in stage 'discovery' that the "
                           'scenario does not know (e.g. "O2"); valid: mql, opportunity, '
                           "proposal, sql; fit the scenario to this log")
    assert not (tmp_path / "state").exists()
