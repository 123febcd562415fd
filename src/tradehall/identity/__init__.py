"""Identity: users, password hashes and roles, state-stored in SQL (see docs/adr/0003)."""
