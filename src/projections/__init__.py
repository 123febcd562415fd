"""Read models built only from the event logs (not built yet)."""
