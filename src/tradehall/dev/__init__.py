"""Development only: demo data and a local stand-in for Stripe (`tradehall serve --demo`, tests)."""
