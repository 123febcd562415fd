"""The shared kernel: the few types every bounded context agrees on.

Contexts may import this package and nothing of each other's; it is plain Python plus the
eventsourcing library, with no I/O and no clock reads.
"""
