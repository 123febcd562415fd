"""The shared kernel: the few types every bounded context agrees on.

Contexts may import this package and nothing of each other's; it is plain Python plus the
eventsourcing library (and SQLAlchemy's type declarations in sqltypes.py, for the adapters'
tables), with no I/O and no clock reads.
"""
