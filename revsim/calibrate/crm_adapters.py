"""CRM exports -> canonical opportunity events: Salesforce OpportunityHistory, HubSpot deals and
the Maven CRM sales pipeline.

Each adapter takes the raw export (a DataFrame or a CSV path) and returns a DataFrame that
``read_event_log`` accepts (see revsim.calibrate.export_table); problems in the export itself
(missing columns, bad dates, inconsistent statuses) raise ``LogError``, all at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as AbcMapping
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.export_table import (
    RawExport,
    Source,
    export_events,
    slug,
    truthy,
)
from revsim.calibrate.raw_table import row_problem
from revsim.errors import Problem


def salesforce_opportunity_history(source: Source, *, stages: Source | None = None,
                                   tz: str = "UTC") -> pd.DataFrame:
    """Salesforce ``OpportunityHistory`` export -> opportunity events.

    Columns: ``OpportunityId`` -> case_id; ``StageName``; ``CreatedDate`` (when the history row
    was written, ISO 8601 as the API writes it, e.g. ``2017-03-01T09:30:00.000+0000``; naive
    times are taken in ``tz``) -> timestamp; optional ``Amount`` -> amount, ``CreatedById`` ->
    resource, ``AccountId`` -> account_id, ``ForecastCategory`` and ``Probability`` -> attributes.

    Salesforce writes a history row on any change of Amount, Probability, StageName or CloseDate,
    so each opportunity's rows (ordered by CreatedDate) that repeat the previous StageName are not
    stage entries: they are left out and counted as "salesforce: stage unchanged". Each kept row
    gives ``stage:<slug of StageName>``; the opportunity's first row also gives
    ``opportunity_created`` at the same time. Closed stages become ``closed_won`` /
    ``closed_lost``: from ``stages`` (an ``OpportunityStage`` export with ``ApiName`` or
    ``MasterLabel``, ``IsClosed``, ``IsWon``) when given, else the default names "Closed Won" and
    "Closed Lost".
    """
    export = RawExport(source, "Salesforce OpportunityHistory")
    c_id = export.column("OpportunityId", "OpportunityId", "Opportunity.Id", "Opportunity ID")
    c_stage = export.column("StageName", "StageName", "Stage", "Stage Name")
    c_time = export.column("CreatedDate", "CreatedDate", "Created Date", "Last Modified")
    export.stop_if_problems()
    assert c_id and c_stage and c_time
    case = export.required_text(c_id)
    stage = export.required_text(c_stage)
    times = export.times(c_time, tz=tz)
    blank = export.text(c_time).isna().to_numpy()
    if blank.any():
        export.problems.append(row_problem(c_time, export.rows[blank], "blank CreatedDate",
                                           "fill it in or delete the row"))
    amount = export.numbers(export.column("Amount", "Amount", required=False))
    closed = _salesforce_closed(stages)
    export.stop_if_problems()

    table = pd.DataFrame({"case": case, "stage": stage, "t": times}, index=export.table.index)
    order = table.sort_values(["case", "t"], kind="stable").index
    ordered = table.loc[order]
    repeat = (ordered["case"].eq(ordered["case"].shift()) &
              ordered["stage"].eq(ordered["stage"].shift()))
    export.skip("salesforce: stage unchanged", int(repeat.sum()))
    keep = pd.Series(False, index=export.table.index)
    keep.loc[ordered.index[~repeat.to_numpy()]] = True
    first = pd.Series(False, index=export.table.index)
    first.loc[ordered.index[~ordered["case"].eq(ordered["case"].shift()).to_numpy()]] = True

    activity = stage.map(lambda s: closed.get(s.lower(), f"stage:{slug(s)}")
                         if isinstance(s, str) else np.nan)
    extra = {
        "object_type": "opportunity",
        "amount": amount,
        "resource": export.text(export.column("CreatedById", "CreatedById", required=False)),
        "account_id": export.text(export.column("AccountId", "AccountId", required=False)),
    }
    for raw, name in (("ForecastCategory", "forecast_category"), ("Probability", "probability")):
        col = export.column(raw, raw, required=False)
        if col is not None:
            extra[name] = export.text(col)
    created = export_events(export, first, "opportunity_created", times, case_id=case, **extra)
    entries = export_events(export, keep, activity, times, case_id=case, **extra)
    return export.finish([created, entries])


def _salesforce_closed(stages: Source | None) -> dict[str, str]:
    """Lower-case stage name -> closed_won / closed_lost."""
    if stages is None:
        return {"closed won": "closed_won", "closed lost": "closed_lost"}
    table = RawExport(stages, "Salesforce OpportunityStage")
    names = [c for c in (table.column("ApiName", "ApiName", required=False),
                         table.column("MasterLabel", "MasterLabel", "Label", required=False)) if c]
    if not names:
        table.column("ApiName or MasterLabel", "ApiName", "MasterLabel")
    c_closed = table.column("IsClosed", "IsClosed")
    c_won = table.column("IsWon", "IsWon")
    table.stop_if_problems()
    assert c_closed and c_won
    is_closed, is_won = truthy(table.table[c_closed]), truthy(table.table[c_won])
    out: dict[str, str] = {}
    for col in names:
        for name, closed, won in zip(table.text(col), is_closed, is_won, strict=True):
            if isinstance(name, str) and closed:
                out[name.lower()] = "closed_won" if won else "closed_lost"
    return out


_HUBSPOT_ENTERED = (re.compile(r"^hs_v2_date_entered_(.+)$", re.I),
                    re.compile(r"^hs_date_entered_(.+)$", re.I),
                    re.compile(r'^date entered\s+"?(.+?)"?$', re.I))


def hubspot_deals(source: Source, *, stages: AbcMapping[str, str] | None = None, tz: str = "UTC",
                  date_format: str | None = None) -> pd.DataFrame:
    """HubSpot deals export with stage "date entered" properties -> opportunity events.

    Columns: ``Record ID`` / ``hs_object_id`` / ``Deal ID`` -> case_id; ``Create Date`` /
    ``createdate`` -> ``opportunity_created``; one ``Date entered "<stage> (<pipeline>)"`` (UI
    export) or ``hs_v2_date_entered_<stageId>`` / legacy ``hs_date_entered_<stageId>`` (API)
    column per stage -> ``stage:<slug>`` at that time, for every stage the deal entered (the
    same stage in several pipelines, or under both API names, gives one event, the latest);
    closed-won / closed-lost stages (ids ``closedwon``/``closedlost`` or labels "Closed Won"/
    "Closed Lost", or any label mapped by ``stages``: raw label or id -> canonical activity)
    -> ``closed_won`` / ``closed_lost``. Optional ``Amount`` -> amount, ``Deal owner`` /
    ``hubspot_owner_id`` -> resource, ``Pipeline``, ``Deal Name`` and ``Deal Stage`` ->
    attributes. Times are ISO 8601 (or ``date_format``), naive ones taken in ``tz``.

    HubSpot keeps only the latest entry per stage, so re-entries are lost (use property history
    for those). A deal with both a won and a lost date keeps the one that matches its current
    Deal Stage (else the later one); the other is counted as "hubspot: closed stage superseded".
    """
    export = RawExport(source, "HubSpot deals")
    c_id = export.column("deal id", "Record ID", "hs_object_id", "Deal ID", "id")
    c_created = export.column("create date", "Create Date", "createdate")
    export.stop_if_problems()
    assert c_id and c_created
    table = export.table
    stage_cols: dict[str, list[str]] = {}  # activity -> its columns (one per pipeline)
    for col in table.columns:
        for pattern in _HUBSPOT_ENTERED:
            match = pattern.match(col)
            if match:
                label = re.sub(r"\s*\([^()]*\)$", "", match.group(1).strip().strip('"')).strip()
                stage_cols.setdefault(_hubspot_activity(label, stages), []).append(col)
                break
    if not stage_cols:
        export.problems.append(Problem("", 'no "Date entered <stage>" or hs_v2_date_entered_<id> '
                                           "columns; add the stage date properties to the export"))
    case = export.required_text(c_id)
    export.required_text(c_created)  # a deal without its creation time would lose its start
    created = export.times(c_created, tz=tz, date_format=date_format)
    entered = {act: pd.concat([export.times(c, tz=tz, date_format=date_format) for c in cols],
                              axis=1).max(axis=1).astype("datetime64[ns, UTC]")
               for act, cols in stage_cols.items()}
    c_stage = export.column("deal stage", "Deal Stage", "dealstage", required=False)
    current = export.text(c_stage).map(lambda s: _hubspot_activity(s, stages)
                                       if isinstance(s, str) else np.nan)
    won, lost = entered.get("closed_won"), entered.get("closed_lost")
    if won is not None and lost is not None:
        both = won.notna() & lost.notna()
        keep_won = both & (current.eq("closed_won") | (current.ne("closed_lost") & (won >= lost)))
        export.skip("hubspot: closed stage superseded", int(both.sum()))
        entered["closed_won"] = won.where(~both | keep_won)
        entered["closed_lost"] = lost.where(~both | ~keep_won)
    extra: dict[str, Any] = {
        "case_id": case,
        "object_type": "opportunity",
        "amount": export.numbers(export.column("amount", "Amount", "amount", required=False)),
        "resource": export.text(export.column("owner", "Deal owner", "hubspot_owner_id",
                                              required=False)),
    }
    for names, attr in ((("Pipeline", "pipeline"), "pipeline"),
                        (("Deal Name", "dealname"), "deal_name")):
        found = export.column(attr, *names, required=False)
        if found:
            extra[attr] = export.text(found)
    if c_stage:
        extra["deal_stage"] = export.text(c_stage)
    everyone = np.ones(len(table), dtype=bool)
    parts = [export_events(export, everyone, "opportunity_created", created, **extra)]
    parts += [export_events(export, everyone, act, t, **extra) for act, t in entered.items()]
    return export.finish(parts)


def _hubspot_activity(label: str, stages: AbcMapping[str, str] | None) -> str:
    if stages and label in stages:
        return stages[label]
    name = slug(label)
    if name in ("closedwon", "closed_won"):
        return "closed_won"
    if name in ("closedlost", "closed_lost"):
        return "closed_lost"
    return f"stage:{name}"


MAVEN_STAGES = ("Prospecting", "Engaging", "Won", "Lost")


MAVEN_DATES = ("%d-%m-%y", "%Y-%m-%d")  # data.world copy, Kaggle mirror


def maven_pipeline(source: Source) -> pd.DataFrame:
    """Maven Analytics "CRM Sales Opportunities" ``sales_pipeline`` table -> opportunity events.

    Columns: ``opportunity_id`` -> case_id; ``engage_date`` -> ``stage:engaging``;
    ``close_date`` -> ``closed_won`` (deal_stage Won) or ``closed_lost`` (Lost), with
    ``close_value`` -> amount (0 for lost deals, as in the table); ``sales_agent`` -> resource;
    ``account`` -> account_id and attribute ``account``; ``product`` -> attribute. Dates are
    ``DD-MM-YY`` or ``YYYY-MM-DD`` (midnight UTC); deal stages in any letter case.
    ``engage_quarter``/``close_quarter`` are derived and dropped.

    Engaging deals have only ``stage:engaging``: open, censored at the as-of time. The table has
    no creation date, so there is no ``opportunity_created`` event, and Prospecting deals (no
    engage date, no close date) have no time at all: they are left out and counted as "maven:
    Prospecting deal without dates" rather than given invented dates. Durations measured from
    this log therefore start at engagement, and the arrival of new deals is that of engagements.
    """
    export = RawExport(source, "Maven CRM sales_pipeline")
    cols = {name: export.column(name, name) for name in
            ("opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date",
             "close_date", "close_value")}
    export.stop_if_problems()
    case = export.required_text(str(cols["opportunity_id"]))
    # copies of the table differ in letter case and date style (data.world: DD-MM-YY, the
    # Kaggle mirror: YYYY-MM-DD); both are read
    stage = export.required_text(str(cols["deal_stage"]))
    canonical = {name.casefold(): name for name in MAVEN_STAGES}
    stage = stage.map(lambda v: canonical.get(v.casefold(), v) if isinstance(v, str) else v)
    bad = (stage.notna() & ~stage.isin(MAVEN_STAGES)).to_numpy()
    if bad.any():
        export.problems.append(row_problem("deal_stage", export.rows[bad], "unknown deal_stage",
                                           f"use one of {', '.join(MAVEN_STAGES)}",
                                           stage[bad].head(50)))
    engaged = export.times(cols["engage_date"], date_format=MAVEN_DATES)
    closed = export.times(cols["close_date"], date_format=MAVEN_DATES)
    has_engage = export.text(cols["engage_date"]).notna()
    has_close = export.text(cols["close_date"]).notna()
    checks = (
        (stage.ne("Prospecting") & stage.notna() & ~has_engage, "engage_date",
         "deal past Prospecting without an engage_date", "fill in the engage date (DD-MM-YY)"),
        (stage.isin(["Won", "Lost"]) & ~has_close, "close_date",
         "Won/Lost deal without a close_date", "fill in the close date (DD-MM-YY)"),
        (stage.isin(["Prospecting", "Engaging"]) & has_close, "close_date",
         "open deal (Prospecting/Engaging) with a close_date", "set deal_stage to Won or Lost, or "
         "clear the close date"),
        (stage.eq("Prospecting") & has_engage, "engage_date",
         "Prospecting deal with an engage_date", "set deal_stage to Engaging"),
    )
    for mask, col, what, fix in checks:
        hits = mask.to_numpy(dtype=bool)
        if hits.any():
            export.problems.append(row_problem(col, export.rows[hits], what, fix))
    amount = export.numbers(cols["close_value"])
    prospecting = stage.eq("Prospecting").to_numpy()
    export.skip("maven: Prospecting deal without dates", int(prospecting.sum()))
    account = export.text(cols["account"])
    common = {"case_id": case, "object_type": "opportunity",
              "resource": export.text(cols["sales_agent"]), "account_id": account,
              "product": export.text(cols["product"]), "account": account}
    outcome = stage.map({"Won": "closed_won", "Lost": "closed_lost"})
    keep = ~prospecting
    return export.finish([
        export_events(export, keep, "stage:engaging", engaged, **common),
        export_events(export, keep & outcome.notna().to_numpy(), outcome, closed, amount=amount,
                **common),
    ])
