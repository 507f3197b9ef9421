"""Simulation engine: calendars, arrivals and the event loop."""
