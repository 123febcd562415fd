"""Requests for quote (issue 18): a requester asks, members quote sealed until the deadline."""
