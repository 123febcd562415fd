"""The membership context's adapters: where its features meet identity, mail, payments, time.

Registration, CSV import and export, notices, card payments (Stripe webhooks), clock jobs.
"""

from tradehall.context import EventLog

# Membership's event log: its Application's name, and the key of its read-your-writes positions.
LOG = EventLog("membership")
