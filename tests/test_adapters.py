"""Adapters from CRM and billing exports to the canonical event log
(revsim.calibrate.crm_adapters and billing_adapters)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from revsim.calibrate import (
    LogError,
    generic_ar,
    hubspot_deals,
    maven_pipeline,
    read_event_log,
    salesforce_opportunity_history,
    stripe_invoices,
)

DATA = Path(__file__).parent / "data"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def trace(events: pd.DataFrame, case: str) -> list[str]:
    return events.loc[events["case_id"] == case, "activity"].tolist()


def at(events: pd.DataFrame, case: str, activity: str, column: str = "timestamp") -> object:
    rows = events[(events["case_id"] == case) & (events["activity"] == activity)]
    assert len(rows) == 1, rows
    return rows[column].iloc[0]


# --- Salesforce --------------------------------------------------------------------------------

def test_salesforce_dedupes_rows_that_keep_the_stage() -> None:
    ev = salesforce_opportunity_history(DATA / "salesforce_opportunity_history.csv")
    # 14 history rows, 3 of which only change Amount/CloseDate: 11 stage entries + 4 creations
    assert ev.attrs["skipped"] == {"salesforce: stage unchanged": 3}
    assert len(ev) == 11 + 4
    assert trace(ev, "0065e00000AbC01") == ["opportunity_created", "stage:prospecting",
                                            "stage:qualification", "closed_won"]
    assert trace(ev, "0065e00000AbC02") == ["opportunity_created", "stage:prospecting",
                                            "stage:needs_analysis", "closed_lost"]
    # going back to an earlier stage is a new entry, not a repeat
    assert trace(ev, "0065e00000AbC03") == ["opportunity_created", "stage:prospecting",
                                            "stage:proposal_price_quote", "stage:prospecting"]


def test_salesforce_times_amounts_and_rows() -> None:
    ev = salesforce_opportunity_history(DATA / "salesforce_opportunity_history.csv")
    assert at(ev, "0065e00000AbC01", "opportunity_created") == utc("2023-01-03 09:15")
    # the first Qualification row (10:30), not the repeat at 10:31, though the export was unsorted
    assert at(ev, "0065e00000AbC01", "stage:qualification") == utc("2023-01-10 10:30")
    assert at(ev, "0065e00000AbC01", "closed_won", "amount") == 12500.0
    assert at(ev, "0065e00000AbC01", "closed_won", "resource") == "0055e000003Rep1"
    # index = the export's row number (header = row 1)
    closed = ev[(ev["case_id"] == "0065e00000AbC01") & (ev["activity"] == "closed_won")]
    assert closed.index.tolist() == [5]


def test_salesforce_closed_stages_from_the_stage_table() -> None:
    default = salesforce_opportunity_history(DATA / "salesforce_opportunity_history.csv")
    assert trace(default, "0065e00000AbC04")[-1] == "stage:signed"
    ev = salesforce_opportunity_history(DATA / "salesforce_opportunity_history.csv",
                                        stages=DATA / "salesforce_opportunity_stage.csv")
    assert trace(ev, "0065e00000AbC04") == ["opportunity_created", "stage:prospecting",
                                            "closed_won"]
    assert trace(ev, "0065e00000AbC02")[-1] == "closed_lost"


def test_salesforce_log_reads_back_with_its_skips() -> None:
    log = read_event_log(salesforce_opportunity_history(DATA / "salesforce_opportunity_history.csv"))
    assert log.source.endswith("salesforce_opportunity_history.csv")
    assert log.skipped == {"salesforce: stage unchanged": 3}
    assert log.n_cases == 4
    assert "3 salesforce: stage unchanged" in log.describe()


def test_salesforce_export_problems() -> None:
    raw = pd.read_csv(DATA / "salesforce_opportunity_history.csv", dtype=str)
    raw.loc[2, "CreatedDate"] = "10/01/2023 10:30"
    raw.loc[4, "StageName"] = None
    with pytest.raises(LogError) as info:
        salesforce_opportunity_history(raw)
    text = "\n".join(info.value.lines())
    assert ('CreatedDate: row 4: a date that is not ISO 8601: "10/01/2023 10:30"; the day/month '
            "order of such dates is not known; write ISO 8601") in text
    assert "StageName: row 6: blank StageName" in text
    with pytest.raises(LogError) as info:
        salesforce_opportunity_history(raw.drop(columns=["StageName"]))
    assert "no StageName column" in info.value.lines()[0]


# --- HubSpot -----------------------------------------------------------------------------------

def test_hubspot_multiple_stages_per_deal() -> None:
    ev = hubspot_deals(DATA / "hubspot_deals.csv")
    assert trace(ev, "9001") == ["opportunity_created", "stage:appointment_scheduled",
                                 "stage:qualified_to_buy", "stage:presentation_scheduled",
                                 "stage:contract_sent", "closed_won"]
    assert trace(ev, "9002") == ["opportunity_created", "stage:appointment_scheduled",
                                 "stage:qualified_to_buy", "closed_lost"]
    assert trace(ev, "9004") == ["opportunity_created", "stage:appointment_scheduled"]
    assert at(ev, "9001", "stage:contract_sent") == utc("2023-04-03 11:00")
    assert at(ev, "9001", "closed_won", "resource") == "Ana Ruiz"
    assert at(ev, "9001", "closed_won", "amount") == 24000.0
    assert at(ev, "9001", "closed_won", "pipeline") == "Sales Pipeline"


def test_hubspot_local_times_and_superseded_close() -> None:
    ev = hubspot_deals(DATA / "hubspot_deals.csv", tz="America/New_York")
    assert at(ev, "9001", "opportunity_created") == utc("2023-03-01 14:00")  # EST, UTC-5
    assert at(ev, "9001", "closed_won") == utc("2023-04-12 19:00")  # EDT, UTC-4
    # 9005 entered Closed Lost, then was won: its current stage decides
    assert trace(ev, "9005")[-1] == "closed_won"
    assert "closed_lost" not in trace(ev, "9005")
    assert ev.attrs["skipped"] == {"hubspot: closed stage superseded": 1}
    log = read_event_log(ev)
    assert len(log.open_cases()) == 2  # 9003 and 9004 are still open


def test_hubspot_api_names_and_several_pipelines() -> None:
    raw = pd.DataFrame({
        "hs_object_id": ["1", "2"],
        "createdate": ["2024-01-01T10:00:00Z", "2024-01-02T10:00:00Z"],
        "dealstage": ["closedwon", "contractsent"],
        "amount": ["100", "250.5"],
        "hubspot_owner_id": ["77", "78"],
        "hs_v2_date_entered_appointmentscheduled": ["2024-01-01T10:00:00Z", None],
        "hs_date_entered_appointmentscheduled": ["2024-01-01T10:00:00Z", None],
        "hs_v2_date_entered_123456": [None, "2024-01-02T10:00:00Z"],
        "hs_v2_date_entered_contractsent": [None, "2024-01-05T10:00:00Z"],
        "hs_v2_date_entered_closedwon": ["2024-01-09T10:00:00.123Z", None],
    })
    ev = hubspot_deals(raw, stages={"123456": "stage:discovery"})
    assert trace(ev, "1") == ["opportunity_created", "stage:appointmentscheduled", "closed_won"]
    assert trace(ev, "2") == ["opportunity_created", "stage:discovery", "stage:contractsent"]
    assert at(ev, "1", "closed_won") == utc("2024-01-09 10:00:00.123")
    assert at(ev, "2", "stage:contractsent", "resource") == "78"


def test_hubspot_without_stage_columns() -> None:
    raw = pd.DataFrame({"Record ID": ["1"], "Create Date": ["2024-01-01 10:00"]})
    with pytest.raises(LogError) as info:
        hubspot_deals(raw)
    assert "Date entered" in info.value.lines()[0]


# --- Stripe ------------------------------------------------------------------------------------

def test_stripe_statuses() -> None:
    ev = stripe_invoices(DATA / "stripe_invoices.csv")
    assert trace(ev, "in_1PaidAuto") == ["invoice_issued", "invoice_paid"]
    assert trace(ev, "in_1Open") == ["invoice_issued"]
    assert trace(ev, "in_1Uncoll") == ["invoice_issued", "invoice_written_off"]
    assert trace(ev, "in_1Void") == ["invoice_issued", "invoice_voided"]
    assert "in_1Draft" not in set(ev["case_id"])
    assert ev.attrs["skipped"] == {"stripe: draft invoice": 1}


def test_stripe_unix_seconds_due_dates_and_amounts() -> None:
    ev = stripe_invoices(DATA / "stripe_invoices.csv")
    # 1704070800 = 2024-01-01T01:00:00Z (finalized_at, not created)
    assert at(ev, "in_1PaidAuto", "invoice_issued") == utc("2024-01-01 01:00")
    assert at(ev, "in_1PaidAuto", "invoice_paid") == utc("2024-01-01 02:00")
    # charged automatically: due when issued; sent invoices: their due_date
    assert at(ev, "in_1PaidAuto", "invoice_issued", "due_date") == utc("2024-01-01 01:00")
    assert at(ev, "in_1Open", "invoice_issued", "due_date") == utc("2024-03-01")
    assert at(ev, "in_1Open", "invoice_issued", "amount") == pytest.approx(250.50)
    assert at(ev, "in_1Yen", "invoice_paid", "amount") == 15000.0  # zero-decimal currency
    assert at(ev, "in_1PaidSend", "invoice_paid", "object_type") == "payment"
    assert at(ev, "in_1PaidSend", "invoice_paid", "account_id") == "cus_B"
    log = read_event_log(ev)
    assert sorted(log.open_cases()) == ["in_1Open"]


def test_stripe_status_without_its_time_is_an_error() -> None:
    raw = pd.read_csv(DATA / "stripe_invoices.csv", dtype=str)
    raw.loc[0, "status_transitions.paid_at"] = None
    raw.loc[2, "status"] = "pending"
    with pytest.raises(LogError) as info:
        stripe_invoices(raw)
    text = "\n".join(info.value.lines())
    assert "row 2: status paid without status_transitions.paid_at" in text
    assert 'row 4: unknown status "pending"' in text


# --- generic AR --------------------------------------------------------------------------------

def test_generic_ar_open_items_are_censored() -> None:
    ev = generic_ar(DATA / "generic_ar.csv")
    assert trace(ev, "2960623488") == ["invoice_issued"]  # no clear date: open
    assert trace(ev, "1930659387") == ["invoice_issued"]
    assert trace(ev, "1930438491") == ["invoice_issued", "invoice_paid"]
    assert ev.attrs["skipped"] == {"AR: duplicate row": 1}
    assert at(ev, "1930438491", "invoice_issued") == utc("2020-01-26")  # YYYYMMDD
    assert at(ev, "1930438491", "invoice_issued", "due_date") == utc("2020-02-10")
    assert at(ev, "1930438491", "invoice_paid") == utc("2020-02-11")
    assert at(ev, "1930438491", "invoice_issued", "account_id") == "0200769623"
    assert at(ev, "2960623488", "invoice_issued", "currency") == "CAD"
    log = read_event_log(ev)
    assert sorted(log.open_cases()) == ["1930659387", "2960623488"]
    assert log.skipped == {"AR: duplicate row": 1}


def test_generic_ar_other_column_names_and_formats() -> None:
    raw = pd.DataFrame({"invoiceNumber": ["A-1", "A-2"], "customerID": ["c1", "c2"],
                        "InvoiceDate": ["1/2/2013", "1/26/2013"],
                        "DueDate": ["2/1/2013", "2/25/2013"], "InvoiceAmount": ["55.94", "61.74"],
                        "SettledDate": ["1/15/2013", None]})
    ev = generic_ar(raw, date_format="%m/%d/%Y")
    assert trace(ev, "A-1") == ["invoice_issued", "invoice_paid"]
    assert trace(ev, "A-2") == ["invoice_issued"]
    assert at(ev, "A-2", "invoice_issued", "due_date") == utc("2013-02-25")


def test_generic_ar_errors_point_at_export_rows() -> None:
    raw = pd.read_csv(DATA / "generic_ar.csv", dtype=str)
    raw.loc[1, "document_create_date"] = "2019-13-45"
    raw.loc[4, "doc_id"] = "1929646410"  # reuses row 3's id with other content
    with pytest.raises(LogError) as info:
        generic_ar(raw)
    text = "\n".join(info.value.lines())
    assert 'document_create_date: row 3: unparseable time "2019-13-45"' in text
    assert 'doc_id: row 6: invoice id already used on an earlier, different row: "1929646410"' in text
    # a clear date before the invoice date is found by the log reader, at the export's row
    raw = pd.read_csv(DATA / "generic_ar.csv", dtype=str)
    raw.loc[2, "clear_date"] = "2019-01-01 00:00:00"
    with pytest.raises(LogError) as info:
        read_event_log(generic_ar(raw))
    (line,) = info.value.lines()
    assert "row 4: case ends before its first event" in line


# --- Maven CRM ---------------------------------------------------------------------------------

def test_maven_sample() -> None:
    raw = pd.read_csv(DATA / "maven_pipeline_sample.csv", dtype=str)
    ev = maven_pipeline(DATA / "maven_pipeline_sample.csv")
    counts = raw["deal_stage"].value_counts()
    assert ev.attrs["skipped"] == {"maven: Prospecting deal without dates": counts["Prospecting"]}
    assert (ev["activity"] == "closed_won").sum() == counts["Won"]
    assert (ev["activity"] == "closed_lost").sum() == counts["Lost"]
    assert (ev["activity"] == "stage:engaging").sum() == counts.drop("Prospecting").sum()
    assert "opportunity_created" not in set(ev["activity"])  # the table has no creation date
    # first row: XRN54MBM, Niesha Huffines, GTX Basic, Ron-tech, Won, 17-11-16, 05-03-17, 487
    assert trace(ev, "XRN54MBM") == ["stage:engaging", "closed_won"]
    assert at(ev, "XRN54MBM", "stage:engaging") == utc("2016-11-17")
    assert at(ev, "XRN54MBM", "closed_won") == utc("2017-03-05")
    assert at(ev, "XRN54MBM", "closed_won", "amount") == 487.0
    assert at(ev, "XRN54MBM", "closed_won", "resource") == "Niesha Huffines"
    assert at(ev, "XRN54MBM", "closed_won", "product") == "GTX Basic"
    assert at(ev, "XRN54MBM", "closed_won", "account") == "Ron-tech"
    # an Engaging deal: one event, open and censored at the as-of time
    assert trace(ev, "F5U1ACDD") == ["stage:engaging"]


def test_maven_sample_reads_as_a_log() -> None:
    log = read_event_log(maven_pipeline(DATA / "maven_pipeline_sample.csv"))
    raw = pd.read_csv(DATA / "maven_pipeline_sample.csv", dtype=str)
    assert len(log.open_cases()) == (raw["deal_stage"] == "Engaging").sum()
    assert log.n_cases + log.skipped["maven: Prospecting deal without dates"] == len(raw)


def test_maven_full_table() -> None:
    log = read_event_log(maven_pipeline(DATA / "maven_crm_sales_pipeline.csv"))
    assert log.n_cases == 8300
    assert log.skipped == {"maven: Prospecting deal without dates": 500}
    assert len(log.open_cases()) == 1589
    assert log.as_of == utc("2017-12-31")
    assert log.start == utc("2016-10-20")
    won = log.events[log.events["activity"] == "closed_won"]
    assert len(won) == 4238


def test_maven_problems() -> None:
    raw = pd.read_csv(DATA / "maven_pipeline_sample.csv", dtype=str)
    raw.loc[0, "close_date"] = "05/03/2017"  # neither DD-MM-YY nor YYYY-MM-DD
    raw.loc[1, "deal_stage"] = "Won"  # an Engaging row without close date
    raw.loc[2, "deal_stage"] = "Negotiating"
    with pytest.raises(LogError) as info:
        maven_pipeline(raw)
    text = "\n".join(info.value.lines())
    assert 'close_date: row 2: not a %d-%m-%y or %Y-%m-%d date: "05/03/2017"' in text
    assert "row 3: Won/Lost deal without a close_date" in text
    assert 'deal_stage: row 4: unknown deal_stage "Negotiating"' in text
    with pytest.raises(LogError) as info:
        maven_pipeline(raw.drop(columns=["engage_date"]))
    assert "no engage_date column" in info.value.lines()[0]


def test_adapter_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(LogError) as info:
        stripe_invoices(tmp_path / "invoices.csv")
    assert "invoices.csv: file not found" in info.value.lines()[0]
