"""Payments: the Stripe gateway, its webhooks, and a local stand-in that speaks its API."""
