"""Tradehall's composition root: settings, the app factory, identity, the clock and the CLI."""
