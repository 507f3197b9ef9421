"""The canonical event log: ``revsim run ... --event-log FILE`` and ``RunResult.event_log()``.

The CSV must use the canonical columns and activity names, keep each case's events in time
order, tie invoices to the won opportunity that produced them, and agree with the KPIs of the
same run (counts and amounts; the run has no warm-up so the KPIs cover the whole horizon).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAAS, START, write_toml

import revsim
from revsim.cli import main

COLUMNS = ["case_id", "activity", "timestamp", "object_type", "parent_id", "resource", "amount",
           "due_date", "source", "segment", "score"]
OBJECT_TYPES = {"lead", "opportunity", "invoice", "payment"}
CANONICAL = {"lead_created", "first_touch", "mql", "sql", "opportunity_created", "closed_won",
             "closed_lost", "disqualified", "recycled", "onboarding_started", "go_live",
             "invoice_issued", "reminder_sent", "payment_received", "invoice_paid",
             "invoice_written_off", "churned"}
INVOICE_ACTIVITIES = {"invoice_issued", "reminder_sent", "invoice_written_off"}
PAYMENT_ACTIVITIES = {"payment_received", "invoice_paid"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
CASE = re.compile(r"^(?:(\d+)-)?([LOI])(\d+)$")
SEED = 7
REPS = 2
HORIZON_H = 26 * 168.0


def eventlog_scenario() -> dict[str, Any]:
    """Leads, SDR/AE stages with an opportunity event, nurture, onboarding with churn, renewals,
    a billing pool, partial payers, write-offs and reminders from a collections pool."""
    return {
        "scenario": {"name": "event log", "start": START, "horizon": "26 w", "warmup": "0 h"},
        "segments": {
            "smb": {"value": {"dist": "lognormal", "median": 8000, "p90": 20000}},
            "ent": {"value": {"dist": "lognormal", "median": 60000, "p90": 150000}},
        },
        "sources": {
            "web": {"rate": "60/w", "to": "qualify", "segments": {"smb": 0.7, "ent": 0.3},
                    "score": {"dist": "uniform", "low": 0, "high": 100}},
            "events": {"rate": "10/w", "to": "qualify", "segments": "ent"},
        },
        "pools": {"sdr": {"headcount": 2}, "ae": {"headcount": 2}, "cs": {"headcount": 1},
                  "clerks": {"headcount": 1}, "collectors": {"headcount": 1}},
        "stages": {
            "qualify": {"event": "mql", "pool": "sdr",
                        "work": {"dist": "exponential", "mean": "30 min"},
                        "routes": {"demo": 0.4, "nurture": 0.2, "disqualified": 0.4}},
            "demo": {"event": "opportunity_created", "pool": "ae", "work": "1 h",
                     "delay": {"dist": "exponential", "mean": "5 d"},
                     "routes": {"proposal": 0.6, "lost": 0.4}},
            "proposal": {"pool": "ae", "work": "2 h",
                         "delay": {"dist": "exponential", "mean": "5 d"},
                         "routes": {"won": 0.5, "lost": 0.5}},
            "onboarding": {"pool": "cs", "work": "2 h",
                           "delay": {"dist": "lognormal", "median": "10 d", "p90": "25 d"},
                           "routes": {"live": 0.9, "churned": 0.1}},
        },
        "nurture": {"after": {"dist": "exponential", "mean": "20 d"}, "to": "qualify",
                    "max_cycles": 1},
        "deals": {
            "onboarding": "onboarding",
            "contract": {"type": "subscription", "term": "3 mo", "billing": "upfront",
                         "terms": "net 30", "renewal": 0.7},
            "by_segment": {"ent": {"billing": "monthly_advance", "terms": "net 45"}},
        },
        "payment": {"on_time": 0.5, "late": 0.4, "never": 0.1,
                    "lateness": {"dist": "lognormal", "median": "10 d", "p90": "40 d"},
                    "write_off_after": "60 d", "partial_share": 0.2, "partial_gap": "10 d",
                    "by_segment": {"ent": {"write_off_after": "90 d"}}},
        "billing": {"pool": "clerks", "work": "20 min"},
        "dunning": {"reminders": ["1 d", "7 d"], "factor": 2.0, "pool": "collectors",
                    "work": "10 min"},
    }


@pytest.fixture(scope="module")
def scenario_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toml(tmp_path_factory.mktemp("eventlog") / "cash.toml", eventlog_scenario())


@pytest.fixture(scope="module")
def cli_log(scenario_path: Path) -> pd.DataFrame:
    """The event log written by the CLI (2 replications, 2 jobs)."""
    out = scenario_path.parent / "events.csv"
    result = CliRunner().invoke(main, [
        "run", str(scenario_path), "-n", str(REPS), "--seed", str(SEED), "-j", "2", "-q",
        "--warmup", "0 h", "--event-log", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists()
    assert not list(out.parent.glob(".*.part"))  # written atomically
    return pd.read_csv(out, dtype={"case_id": str, "parent_id": str, "resource": str},
                       keep_default_na=True)


@pytest.fixture(scope="module")
def api_run(scenario_path: Path) -> revsim.RunResult:
    """The same run through the API (results do not depend on the number of jobs)."""
    return revsim.load(scenario_path).run(replications=REPS, seed=SEED, jobs=1, records=True,
                                          warmup="0 h", progress=False)


def stamps(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col, format="%Y-%m-%dT%H:%M:%S%z")


# ---------------------------------------------------------------------------- format
def test_columns_and_formats(cli_log: pd.DataFrame) -> None:
    df = cli_log
    assert list(df.columns[: len(COLUMNS)]) == COLUMNS
    assert len(df) > 1000
    assert df["timestamp"].map(lambda s: bool(ISO.match(s))).all()
    due = df["due_date"].dropna()
    assert len(due) and due.map(lambda s: bool(ISO.match(s))).all()
    assert set(df["object_type"]) <= OBJECT_TYPES
    assert set(df["object_type"]) == OBJECT_TYPES  # this run has all four
    # due dates only on invoice and payment rows; every invoice row has one
    inv_or_pay = df["object_type"].isin(["invoice", "payment"])
    assert df.loc[~inv_or_pay, "due_date"].isna().all()
    assert df.loc[inv_or_pay, "due_date"].notna().all()
    # lead attributes on every row
    assert set(df["source"]) == {"web", "events"}
    assert set(df["segment"]) == {"smb", "ent"}
    assert df.loc[df["source"] == "web", "score"].between(0, 100).all()
    # case ids: replication prefix (several replications) + L/O/I + number
    parts = df["case_id"].str.extract(CASE.pattern)
    assert parts.notna().all().all(), df.loc[parts.isna().any(axis=1), "case_id"].head()
    assert (parts[0].astype(int) == df["replication"]).all()


def test_canonical_activity_names_only(cli_log: pd.DataFrame) -> None:
    acts = set(cli_log["activity"])
    stage_acts = {a for a in acts if a.startswith("stage:")}
    assert acts - stage_acts <= CANONICAL, acts - stage_acts - CANONICAL
    # only stages without an event of their own appear as stage:NAME; never the internal
    # billing/collections work
    assert stage_acts == {"stage:proposal"}
    for a in ("lead_created", "first_touch", "mql", "opportunity_created", "closed_won",
              "closed_lost", "disqualified", "recycled", "onboarding_started", "go_live",
              "invoice_issued", "reminder_sent", "payment_received", "invoice_paid",
              "invoice_written_off", "churned"):
        assert a in acts, a


def test_object_types_match_activities(cli_log: pd.DataFrame) -> None:
    df = cli_log
    kind = df["case_id"].str.extract(CASE.pattern)[1]
    assert set(df.loc[df["activity"].isin(INVOICE_ACTIVITIES), "object_type"]) == {"invoice"}
    assert set(df.loc[df["activity"].isin(PAYMENT_ACTIVITIES), "object_type"]) == {"payment"}
    assert (kind[df["object_type"].isin(["invoice", "payment"])] == "I").all()
    assert (kind[df["object_type"] == "lead"] == "L").all()
    assert (kind[df["object_type"] == "opportunity"] == "O").all()
    assert set(df.loc[df["activity"] == "lead_created", "object_type"]) == {"lead"}
    assert set(df.loc[df["activity"] == "opportunity_created", "object_type"]) == {"opportunity"}
    assert set(df.loc[df["activity"] == "closed_won", "object_type"]) == {"opportunity"}


def test_events_within_a_case_are_in_time_order(cli_log: pd.DataFrame) -> None:
    df = cli_log.assign(t=stamps(cli_log["timestamp"]))
    for case, g in df.groupby("case_id", sort=False):
        assert g["t"].is_monotonic_increasing, case
    # an opportunity starts with opportunity_created; its lead case was created before that
    first = df.groupby("case_id", sort=False).first()
    opp = first[first.index.str.contains("O")]
    assert (opp["activity"] == "opportunity_created").all()
    leads = first[first.index.str.contains("L")]
    assert (leads["activity"] == "lead_created").all()
    created = leads["t"]
    parent_created = created.reindex(opp["parent_id"]).to_numpy()
    assert (parent_created <= opp["t"].to_numpy()).all()
    # nothing happens after the horizon
    end = pd.Timestamp(START, tz="UTC") + pd.Timedelta(hours=HORIZON_H)
    assert (df["t"] <= end).all()


def test_invoices_point_to_their_won_opportunity(cli_log: pd.DataFrame) -> None:
    df = cli_log.assign(t=stamps(cli_log["timestamp"]))
    won = df[df["activity"] == "closed_won"].set_index("case_id")
    inv = df[df["object_type"].isin(["invoice", "payment"])]
    assert inv["parent_id"].notna().all()
    assert set(inv["parent_id"]) <= set(won.index)
    # one parent per invoice case; an invoice comes after the signature and has the deal's
    # source and segment
    assert (inv.groupby("case_id")["parent_id"].nunique() == 1).all()
    issued = inv[inv["activity"] == "invoice_issued"]
    assert (issued["t"].to_numpy() >= won.loc[issued["parent_id"], "t"].to_numpy()).all()
    for col in ("source", "segment"):
        assert (issued[col].to_numpy() == won.loc[issued["parent_id"], col].to_numpy()).all()
    # payments and reminders belong to an issued invoice, after it was issued
    issued_at = issued.set_index("case_id")["t"]
    later = inv[inv["activity"] != "invoice_issued"]
    assert set(later["case_id"]) <= set(issued_at.index)
    assert (later["t"].to_numpy() >= issued_at.loc[later["case_id"]].to_numpy()).all()
    # every smb deal (billed upfront, at signature) won more than a day before the end has an
    # invoice pointing to it
    end = pd.Timestamp(START, tz="UTC") + pd.Timedelta(hours=HORIZON_H)
    smb_won = won[(won["segment"] == "smb") & (won["t"] < end - pd.Timedelta(days=1))]
    assert len(smb_won) > 10
    assert set(smb_won.index) <= set(issued["parent_id"])
    # the due date of an invoice: its date + net 30 (smb) or net 45 (ent), to the second
    due = stamps(issued["due_date"]) - issued["t"]
    terms = issued["segment"].map({"smb": 30, "ent": 45})
    diff = (due - pd.to_timedelta(terms, unit="D")).abs()
    assert (diff <= pd.Timedelta(seconds=1)).all()


def test_opportunities_point_to_their_lead(cli_log: pd.DataFrame) -> None:
    df = cli_log
    opp = df[df["object_type"] == "opportunity"]
    lead_cases = set(df.loc[df["activity"] == "lead_created", "case_id"])
    assert set(opp["parent_id"]) <= lead_cases
    assert (opp["case_id"].str.replace("O", "L") == opp["parent_id"]).all()


# ---------------------------------------------------------------------------- counts vs KPIs
def per_rep(df: pd.DataFrame, activity: str) -> np.ndarray:
    counts = df[df["activity"] == activity].groupby("replication").size()
    return counts.reindex(range(REPS), fill_value=0).to_numpy()


def amounts(df: pd.DataFrame, activities: set[str]) -> np.ndarray:
    sums = df[df["activity"].isin(activities)].groupby("replication")["amount"].sum()
    return sums.reindex(range(REPS), fill_value=0.0).to_numpy()


@pytest.mark.parametrize(("activity", "metric", "scope"), [
    ("lead_created", "leads_in", "total"),
    ("closed_won", "won", "total"),
    ("closed_lost", "lost", "total"),
    ("go_live", "go_lives", "cash"),
    ("churned", "churned_in_onboarding", "cash"),
    ("invoice_issued", "invoices", "cash"),
    ("reminder_sent", "dunning_touches", "cash"),
])
def test_counts_match_the_kpis(cli_log: pd.DataFrame, api_run: revsim.RunResult,
                               activity: str, metric: str, scope: str) -> None:
    kpi = api_run.values(metric, scope)
    assert kpi.sum() > 0
    np.testing.assert_array_equal(per_rep(cli_log, activity), kpi)


def test_disqualified_rows_match_the_kpi(cli_log: pd.DataFrame,
                                         api_run: revsim.RunResult) -> None:
    """Leads disqualified after their last nurture cycle are disqualified too."""
    np.testing.assert_array_equal(per_rep(cli_log, "disqualified"),
                                  api_run.values("disqualified"))


def test_amounts_match_the_kpis(cli_log: pd.DataFrame, api_run: revsim.RunResult) -> None:
    np.testing.assert_allclose(amounts(cli_log, {"invoice_issued"}),
                               api_run.values("invoiced", "cash"), rtol=1e-9)
    np.testing.assert_allclose(amounts(cli_log, PAYMENT_ACTIVITIES),
                               api_run.values("cash_collected", "cash"), rtol=1e-9)
    np.testing.assert_allclose(amounts(cli_log, {"invoice_written_off"}),
                               api_run.values("written_off", "cash"), rtol=1e-9)
    assert amounts(cli_log, {"invoice_written_off"}).sum() > 0
    # per invoice: paid + written off never exceed the amount issued
    inv = cli_log[cli_log["object_type"].isin(["invoice", "payment"])]
    issued = inv[inv["activity"] == "invoice_issued"].set_index("case_id")["amount"]
    settled = inv[inv["activity"].isin(PAYMENT_ACTIVITIES | {"invoice_written_off"})]
    total = settled.groupby("case_id")["amount"].sum()
    assert (total <= issued.reindex(total.index) + 0.005).all()
    closed = inv[inv["activity"].isin({"invoice_paid", "invoice_written_off"})]["case_id"]
    assert closed.is_unique
    np.testing.assert_allclose(total.loc[closed], issued.loc[closed], atol=0.005)


def test_stage_entries_match_stage_arrivals(cli_log: pd.DataFrame,
                                            api_run: revsim.RunResult) -> None:
    """Every arrival at a stage is an event, also when the lead is still there at the end."""
    entry = {"qualify": "mql", "demo": "opportunity_created", "proposal": "stage:proposal",
             "onboarding": "onboarding_started"}
    got = {stage: per_rep(cli_log, act).tolist() for stage, act in entry.items()}
    expected = {stage: api_run.values("arrivals", "stage", stage).astype(int).tolist()
                for stage in entry}
    assert got == expected


def test_api_log_equals_the_cli_file(cli_log: pd.DataFrame, api_run: revsim.RunResult) -> None:
    df = api_run.event_log()
    assert len(df) == len(cli_log)
    assert df["case_id"].tolist() == cli_log["case_id"].tolist()
    assert df["activity"].tolist() == cli_log["activity"].tolist()
    assert df["timestamp"].tolist() == cli_log["timestamp"].tolist()


def test_log_needs_records() -> None:
    res = revsim.Scenario(eventlog_scenario()).run(replications=1, seed=1, horizon="2 w",
                                                   progress=False)
    with pytest.raises(ValueError, match="records"):
        res.event_log()


def test_single_replication_case_ids_have_no_prefix(tmp_path: Path) -> None:
    res = revsim.Scenario(eventlog_scenario()).run(replications=1, seed=3, horizon="8 w",
                                                   warmup="0 h", records=True, progress=False)
    path = res.write_event_log(tmp_path / "one.csv")
    df = pd.read_csv(path, dtype={"case_id": str})
    assert df["case_id"].str.fullmatch(r"[LOI]\d+").all()
    assert set(df["replication"]) == {0}


def test_timestamps_are_hours_since_the_start(tmp_path: Path) -> None:
    """A lead arriving at a known instant: its lead_created timestamp is that instant."""
    data = eventlog_scenario()
    at = dt.datetime(2027, 1, 5, 10, 30)
    data["sources"] = {"web": {"rate": "0.0001/y", "to": "qualify", "segments": "smb",
                               "bursts": [{"at": at, "count": 1}]}}
    res = revsim.Scenario(data).run(replications=1, seed=1, horizon="1 w", warmup="0 h",
                                    records=True, progress=False)
    df = res.event_log()
    row = df[df["activity"] == "lead_created"].iloc[0]
    assert row["timestamp"] == "2027-01-05T10:30:00+00:00"
    assert row["case_id"] == "L1"


def test_shipped_saas_scenario_log(tmp_path: Path) -> None:
    out = tmp_path / "saas.csv"
    result = CliRunner().invoke(main, [
        "run", str(SAAS), "-n", "1", "--seed", "2", "-q", "--horizon", "20 w", "--warmup", "0 h",
        "--event-log", str(out)])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out, dtype={"case_id": str, "parent_id": str})
    assert list(df.columns[: len(COLUMNS)]) == COLUMNS
    acts = set(df["activity"])
    assert {a for a in acts if not a.startswith("stage:")} <= CANONICAL
    assert {"closed_won", "invoice_issued", "sql", "mql", "opportunity_created"} <= acts
    won = set(df.loc[df["activity"] == "closed_won", "case_id"])
    assert set(df.loc[df["object_type"] == "invoice", "parent_id"]) <= won


def test_one_deal_by_hand() -> None:
    """One lead at Tue 2027-01-05 10:00 (t = 34 h), won 2 d later, no opportunity stage and no
    onboarding: invoiced upfront at signature (net 30), paid 40% after 10 d and the rest 5 d
    later; every row of its log worked out by hand."""
    data = {
        "scenario": {"name": "one deal", "start": START, "horizon": "60 d"},
        "sources": {"web": {"rate": "0.0001/y", "to": "close", "value": 1200,
                            "bursts": [{"at": dt.datetime(2027, 1, 5, 10), "count": 1}]}},
        "stages": {"close": {"delay": "2 d", "routes": {"won": 1.0}}},
        "deals": {"contract": {"type": "one_off", "billing": "upfront", "terms": "net 30"}},
        "payment": {"on_time": 1.0, "late": 0.0, "on_time_delay": "10 d", "partial_share": 1.0,
                    "partial_first": 0.4, "partial_gap": "5 d"},
    }
    res = revsim.Scenario(data).run(replications=1, seed=1, records=True, progress=False)
    df = res.event_log()
    rows = df[COLUMNS[:5] + ["amount", "due_date"]].astype(object).where(df.notna(), None)
    got = [tuple(r) for r in rows.itertuples(index=False)]
    due = "2027-02-06T10:00:00+00:00"
    assert got == [
        ("L1", "lead_created", "2027-01-05T10:00:00+00:00", "lead", None, 1200.0, None),
        ("L1", "stage:close", "2027-01-05T10:00:00+00:00", "lead", None, 1200.0, None),
        # same instant, in the order it happened: won, live (no onboarding), then invoiced
        ("L1", "closed_won", "2027-01-07T10:00:00+00:00", "lead", None, 1200.0, None),
        ("L1", "go_live", "2027-01-07T10:00:00+00:00", "lead", None, None, None),
        ("I1", "invoice_issued", "2027-01-07T10:00:00+00:00", "invoice", "L1", 1200.0, due),
        ("I1", "payment_received", "2027-01-17T10:00:00+00:00", "payment", "L1", 480.0, due),
        ("I1", "invoice_paid", "2027-01-22T10:00:00+00:00", "payment", "L1", 720.0, due),
    ]
