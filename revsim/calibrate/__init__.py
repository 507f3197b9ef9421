"""Calibration from data: read an event log (or a CRM/billing export) and fit the scenario to it.

``read_event_log`` reads and validates the canonical event log ("revsim event log v1");
``load_mapping`` reads a raw-label -> canonical-activity mapping; the adapters turn common raw
exports (Salesforce OpportunityHistory, HubSpot deals, Stripe invoices, a generic AR export and the
Maven CRM sales pipeline) into canonical event-log tables.
"""

from revsim.calibrate.backtest import backtest, format_backtest
from revsim.calibrate.billing_adapters import generic_ar, stripe_invoices
from revsim.calibrate.crm_adapters import (
    hubspot_deals,
    maven_pipeline,
    salesforce_opportunity_history,
)
from revsim.calibrate.fit_log import fit, read_log
from revsim.calibrate.log import EventLog, read_event_log
from revsim.calibrate.mapping import CANONICAL_ACTIVITIES, Mapping, load_mapping
from revsim.calibrate.text_input import LogError

__all__ = [
    "CANONICAL_ACTIVITIES",
    "EventLog",
    "LogError",
    "Mapping",
    "backtest",
    "fit",
    "format_backtest",
    "read_log",
    "generic_ar",
    "hubspot_deals",
    "load_mapping",
    "maven_pipeline",
    "read_event_log",
    "salesforce_opportunity_history",
    "stripe_invoices",
]
