"""The quality mark's adapters: its declaration, the worker that follows the membership log,
the clock job, notices and evidence uploads meet here (ADR 23)."""

from tradehall.context import EventLog

# The quality mark's event log: a log of its own in the membership context (ADR 23).
LOG = EventLog("marks")
