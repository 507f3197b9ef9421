"""The state of the business at a date: open leads and deals, open invoices, live customers.

A snapshot is the warm start of a forecast. ``revsim state`` builds one from the same logs
``fit`` reads; a user can also write one by hand (see docs/state-format.md).
"""
