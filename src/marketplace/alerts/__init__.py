"""Saved searches and the alerts they raise (issue 17): the SavedSearch aggregate, its criteria,
and matching a tender's or an outside opportunity's public facts against them (pure)."""
