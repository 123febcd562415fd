"""Payments: the Stripe gateway, and the table of webhooks parked for staff.

What a Stripe event does to a membership: tradehall/membership/card_payments.py; the local
stand-in for Stripe: tradehall/dev/.
"""
