"""The membership context's adapters: where its features meet identity, mail, payments, time.

Registration, CSV import and export, notices, card payments (Stripe webhooks), clock jobs.
"""
