"""Messages to people: notices from membership events, through an outbox sent by SMTP."""
