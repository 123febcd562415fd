"""Read models built only from the event logs.

Each projection owns its tables, records how far it has read each log in the same transaction as
its changes (so every event is applied exactly once, across crashes), and can be rebuilt from
zero. Projections read events' topics and payloads, never aggregates' methods.
"""
