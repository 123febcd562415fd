"""Messages to people: an outbox, sent by SMTP.

What membership events put in it: tradehall/membership/notices.py.
"""
