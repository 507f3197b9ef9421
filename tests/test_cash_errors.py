"""Bad cash sections: each problem is a clean ScenarioError naming the file and the field.

Every test writes ``cash()`` (a valid scenario with deals, payment, billing and dunning; checked
first) with one change, so the error must come from that change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import DELETE, merge, scenario_dict, write_toml

import revsim
from revsim import ScenarioError
from revsim.cli import main


def cash() -> dict[str, Any]:
    """minimal() with two segments, an onboarding stage and every cash section."""
    return scenario_dict({
        "segments": {"smb": {"value": 1000}, "ent": {"value": 50000}},
        "sources": {"web": {"segments": {"smb": 0.8, "ent": 0.2}}},
        "pools": {"clerks": {"headcount": 1}, "collectors": {"headcount": 1}},
        "stages": {"onboarding": {"delay": "5 d", "routes": {"live": 0.9, "churned": 0.1}}},
        "deals": {
            "onboarding": "onboarding",
            "contract": {"type": "subscription", "term": "12 mo", "billing": "annual_advance",
                         "terms": "net 30", "renewal": 0.8},
            "by_segment": {"ent": {"billing": "quarterly_advance", "terms": "net 60"}},
        },
        "payment": {"on_time": 0.5, "late": 0.45, "never": 0.05,
                    "lateness": {"dist": "exponential", "mean": "20 d"},
                    "write_off_after": "180 d"},
        "billing": {"pool": "clerks", "work": "30 min", "run_days": [1, 15]},
        "dunning": {"reminders": ["1 d", "7 d"], "factor": 1.5, "pool": "collectors",
                    "work": "10 min"},
    })


def load_error(tmp_path: Path, data: dict[str, Any]) -> ScenarioError:
    path = write_toml(tmp_path / "bad.toml", data)
    with pytest.raises(ScenarioError) as info:
        revsim.load(path)
    err = info.value
    assert err.problems
    for line in err.lines():
        assert line.startswith(f"{path}: "), line
        assert "Traceback" not in line
    return err


def bad(tmp_path: Path, changes: dict[str, Any]) -> ScenarioError:
    return load_error(tmp_path, merge(cash(), changes))


def problem_for(err: ScenarioError, path: str) -> str:
    for p in err.problems:
        if p.path == path:
            return p.message
    raise AssertionError(f"no problem at {path!r}; got:\n" + "\n".join(err.lines()))


def test_the_base_cash_scenario_is_valid(tmp_path: Path) -> None:
    sc = revsim.load(write_toml(tmp_path / "ok.toml", cash()))
    assert sc.model.cash is not None
    assert sc.warnings == []


# -- contracts and schedules that contradict each other ---------------------------------------------


def test_milestones_given_but_billing_is_not_milestones(tmp_path: Path) -> None:
    err = bad(tmp_path, {"deals": {"contract": {"milestones": [{"share": 1.0, "at": "go_live"}]}}})
    msg = problem_for(err, "deals.contract.milestones")
    assert "annual_advance" in msg and "milestones" in msg


def test_one_off_billed_monthly(tmp_path: Path) -> None:
    err = bad(tmp_path, {"deals": {"contract": {"type": "one_off", "billing": "monthly_advance",
                                                "renewal": 0.0}, "by_segment": DELETE}})
    msg = problem_for(err, "deals.contract.billing")
    assert "one-off" in msg and "monthly_advance" in msg


def test_subscription_billed_on_milestones(tmp_path: Path) -> None:
    err = bad(tmp_path, {"deals": {"contract": {
        "billing": "milestones", "milestones": [{"share": 1.0, "at": "signature"}]},
        "by_segment": DELETE}})
    assert "one-off" in problem_for(err, "deals.contract.billing")


def test_renewal_on_a_one_off(tmp_path: Path) -> None:
    err = bad(tmp_path, {"deals": {"contract": {"type": "one_off", "billing": "upfront",
                                                "renewal": 0.5}, "by_segment": DELETE}})
    assert "does not renew" in problem_for(err, "deals.contract.renewal")


def test_contradiction_in_a_segment_override(tmp_path: Path) -> None:
    err = bad(tmp_path, {"deals": {"by_segment": {"ent": {"type": "one_off", "renewal": 0.0,
                                                          "billing": "monthly_arrears"}}}})
    assert "one-off" in problem_for(err, "deals.by_segment.ent.billing")


def test_milestones_without_milestones(tmp_path: Path) -> None:
    err = bad(tmp_path, {"deals": {"contract": {"type": "one_off", "billing": "milestones",
                                                "renewal": 0.0}, "by_segment": DELETE}})
    assert "needs milestones" in problem_for(err, "deals.contract.milestones")


def test_milestone_shares_must_sum_to_one(tmp_path: Path) -> None:
    err = bad(tmp_path, {"deals": {"contract": {
        "type": "one_off", "billing": "milestones", "renewal": 0.0,
        "milestones": [{"share": 0.3, "at": "signature"}, {"share": 0.6, "at": "go_live"}]},
        "by_segment": DELETE}})
    assert "sum to 0.9" in problem_for(err, "deals.contract.milestones")


def test_slow_onboarding_needs_renewal_if_slow(tmp_path: Path) -> None:
    err = bad(tmp_path, {"deals": {"contract": {"slow_onboarding": "60 d"}}})
    assert "together" in problem_for(err, "deals.contract.renewal_if_slow")


def test_unknown_segment_in_deals_by_segment(tmp_path: Path) -> None:
    err = bad(tmp_path, {"deals": {"by_segment": {"entr": {"terms": "net 45"}}}})
    assert "did you mean 'ent'" in problem_for(err, "deals.by_segment.entr")


# -- payment behaviour ----------------------------------------------------------------------------


def test_payment_shares_must_sum_to_one(tmp_path: Path) -> None:
    err = bad(tmp_path, {"payment": {"on_time": 0.5, "late": 0.3, "never": 0.1}})
    msg = problem_for(err, "payment")
    assert "on_time + late + never" in msg and "0.9" in msg


def test_payment_shares_of_a_segment_must_sum_to_one(tmp_path: Path) -> None:
    err = bad(tmp_path, {"payment": {"by_segment": {"ent": {"on_time": 0.9}}}})
    assert "on_time + late + never" in problem_for(err, "payment.by_segment.ent")


def test_late_payers_need_a_lateness(tmp_path: Path) -> None:
    err = bad(tmp_path, {"payment": {"lateness": DELETE}})
    assert "required when late > 0" in problem_for(err, "payment.lateness")


def test_write_off_age_not_longer_than_the_terms(tmp_path: Path) -> None:
    err = bad(tmp_path, {"payment": {"write_off_after": "30 d"},
                         "deals": {"by_segment": DELETE}})
    msg = problem_for(err, "payment.write_off_after")
    assert "not longer than the payment terms" in msg and "net 30" in msg


def test_write_off_age_not_longer_than_a_segments_terms(tmp_path: Path) -> None:
    # the default write-off (45 d) is longer than net 30 but not than the ent segment's net 60
    err = bad(tmp_path, {"payment": {"write_off_after": "45 d"}})
    msg = problem_for(err, "payment.write_off_after")
    assert "segment ent" in msg and "net 60" in msg
    assert len(err.problems) == 1


def test_write_off_age_of_a_payment_segment_override(tmp_path: Path) -> None:
    err = bad(tmp_path, {"payment": {"by_segment": {"smb": {"write_off_after": "20 d"}}}})
    msg = problem_for(err, "payment.by_segment.smb.write_off_after")
    assert "net 30" in msg


@pytest.mark.parametrize("where", ["sources.web.value", "segments.smb.value"])
def test_deal_values_that_can_be_negative(tmp_path: Path, where: str) -> None:
    section, name, key = where.split(".")
    err = bad(tmp_path, {section: {name: {key: {"dist": "uniform", "low": -5, "high": 100}}}})
    assert "negative" in problem_for(err, where)


@pytest.mark.parametrize("section", ["payment", "billing", "dunning"])
def test_cash_sections_need_deals(tmp_path: Path, section: str) -> None:
    data = cash()
    for other in ("deals", "payment", "billing", "dunning"):
        if other != section:
            data.pop(other)
    data["stages"].pop("onboarding")
    err = load_error(tmp_path, data)
    assert "needs a [deals] table" in problem_for(err, section)
    assert [p.path for p in err.problems] == [section]


def test_unknown_onboarding_stage(tmp_path: Path) -> None:
    data = cash()
    data["deals"]["onboarding"] = "onbaording"
    err = load_error(tmp_path, data)
    msg = problem_for(err, "deals.onboarding")
    assert "unknown stage 'onbaording'" in msg and "did you mean 'onboarding'" in msg


def test_unknown_billing_pool(tmp_path: Path) -> None:
    err = bad(tmp_path, {"billing": {"pool": "clerk"}})
    msg = problem_for(err, "billing.pool")
    assert "unknown pool 'clerk'" in msg and "did you mean 'clerks'" in msg


def test_unknown_collections_pool(tmp_path: Path) -> None:
    err = bad(tmp_path, {"dunning": {"pool": "collector"}})
    msg = problem_for(err, "dunning.pool")
    assert "unknown pool 'collector'" in msg and "did you mean 'collectors'" in msg


def test_pool_work_without_a_pool(tmp_path: Path) -> None:
    err = bad(tmp_path, {"billing": {"pool": DELETE}})
    assert "needs a pool" in problem_for(err, "billing.work")


def test_pool_without_work(tmp_path: Path) -> None:
    err = bad(tmp_path, {"dunning": {"work": DELETE}})
    assert "required when a pool is given" in problem_for(err, "dunning.work")


@pytest.mark.parametrize("terms", ["net 30x", "thirty", "-5", -5, 30.5, True])
def test_unreadable_terms(tmp_path: Path, terms: Any) -> None:
    err = bad(tmp_path, {"deals": {"contract": {"terms": terms}}})
    msg = problem_for(err, "deals.contract.terms")
    assert "terms" in msg


@pytest.mark.parametrize(("terms", "days"), [("net 45", 45), ("Net-60", 60), (" 30 days", 30),
                                             ("NET_15", 15), (90, 90), ("14d", 14)])
def test_readable_terms(tmp_path: Path, terms: Any, days: int) -> None:
    data = merge(cash(), {"deals": {"contract": {"terms": terms}, "by_segment": DELETE}})
    sc = revsim.load(write_toml(tmp_path / "ok.toml", data))
    assert sc.model.cash.contract(-1).terms == days * 24.0


def test_run_days_out_of_range(tmp_path: Path) -> None:
    err = bad(tmp_path, {"billing": {"run_days": [1, 32]}})
    assert "1..31" in problem_for(err, "billing.run_days.1")


def test_reminders_out_of_order(tmp_path: Path) -> None:
    err = bad(tmp_path, {"dunning": {"reminders": ["7 d", "1 d"]}})
    assert "in order" in problem_for(err, "dunning.reminders")


def test_dunning_factor_below_one(tmp_path: Path) -> None:
    err = bad(tmp_path, {"dunning": {"factor": 0.5}})
    problem_for(err, "dunning.factor")


# -- one problem, one message ----------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "path"), [
    ({"deals": {"contract": {"terms": "net 30x"}}}, "deals.contract.terms"),
    ({"deals": {"contract": {"type": "one_off", "billing": "monthly_advance", "renewal": 0.0},
                "by_segment": DELETE}}, "deals.contract.billing"),
    ({"deals": {"by_segment": {"ent": {"type": "one_off", "renewal": 0.0}}}},
     "deals.by_segment.ent.billing"),
    ({"payment": {"on_time": 0.4}}, "payment"),
    ({"payment": {"write_off_after": "45 d"}}, "payment.write_off_after"),
    ({"billing": {"pool": "clerk"}}, "billing.pool"),
    ({"dunning": {"pool": "collector"}}, "dunning.pool"),
], ids=["terms", "one_off_monthly", "segment_contract", "payment_shares", "write_off",
        "billing_pool", "collections_pool"])
def test_one_problem_gives_exactly_one_message(tmp_path: Path, changes: dict[str, Any],
                                               path: str) -> None:
    """No duplicates, and no follow-on noise such as 'stages.onboarding: no lead can reach
    this stage' when the [deals] table itself is fine but one of its fields is not."""
    err = bad(tmp_path, changes)
    assert [p.path for p in err.problems] == [path], "\n".join(err.lines())


# -- delivery routes --------------------------------------------------------------------------------


def test_route_to_live_without_deals(tmp_path: Path) -> None:
    """'live' and 'churned' end a deal's delivery; with no [deals] there is none to end."""
    data = scenario_dict({"stages": {"work": {"routes": {"won": 0.5, "live": 0.5}}}})
    err = load_error(tmp_path, data)
    assert "live" in problem_for(err, "stages.work.routes.live")


def test_sales_stage_routing_to_live(tmp_path: Path) -> None:
    """Only the onboarding stage (and delivery stages after it) may send a deal live."""
    data = cash()
    data["stages"]["work"]["routes"] = {"won": 0.5, "live": 0.5}
    err = load_error(tmp_path, data)
    problem_for(err, "stages.work.routes.live")


def test_onboarding_stage_routing_to_won(tmp_path: Path) -> None:
    """A delivery stage routes to live or churned; 'won' would book the same deal again."""
    data = cash()
    data["stages"]["onboarding"]["routes"] = {"won": 1.0}
    err = load_error(tmp_path, data)
    problem_for(err, "stages.onboarding.routes.won")


# -- all at once ------------------------------------------------------------------------------------


def test_every_cash_problem_of_a_file_at_once(tmp_path: Path) -> None:
    data = merge(cash(), {
        "sources": {"web": {"value": {"dist": "uniform", "low": -5, "high": 10}}},
        "deals": {"onboarding": "onbaording",
                  "contract": {"terms": "net 30x"},
                  "by_segment": {"ent": {"type": "one_off", "billing": "monthly_advance",
                                         "renewal": 0.0}}},
        "payment": {"on_time": 0.5, "late": 0.3, "never": 0.1,
                    "by_segment": {"smb": {"write_off_after": "20 d", "on_time": 0.6}}},
        "billing": {"pool": "clerk"},
        "dunning": {"pool": "collector"},
    })
    err = load_error(tmp_path, data)
    paths = {p.path for p in err.problems}
    assert paths >= {
        "sources.web.value",
        "deals.onboarding",
        "deals.contract.terms",
        "payment",
        "billing.pool",
        "dunning.pool",
    }, "\n".join(err.lines())
    # the CLI reports them all, one line each, with exit code 2 and no traceback
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "bad.toml")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for path in paths:
        assert f"{path}: " in result.output


def test_every_contract_problem_at_once(tmp_path: Path) -> None:
    """Contract contradictions of the default and of a segment, and payments, together."""
    data = merge(cash(), {
        "deals": {"contract": {"type": "one_off", "billing": "quarterly_advance",
                               "renewal": 0.5, "milestones": [{"share": 1.0, "at": "go_live"}]},
                  "by_segment": {"ent": {"type": "subscription", "billing": "milestones",
                                         "milestones": [{"share": 0.5, "at": "go_live"}]}}},
        "payment": {"by_segment": {"ent": {"late": 0.6}}},
    })
    err = load_error(tmp_path, data)
    paths = {p.path for p in err.problems}
    assert paths >= {
        "deals.contract.billing", "deals.contract.renewal", "deals.contract.milestones",
        "deals.by_segment.ent.billing", "deals.by_segment.ent.milestones",
        "payment.by_segment.ent",
    }, "\n".join(err.lines())
