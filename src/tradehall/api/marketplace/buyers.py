"""Buyers over HTTP: staff verification of public bodies."""

from __future__ import annotations

from typing import Any

# The controllers the marketplace declaration serves (filled in as routes arrive).
CONTROLLERS: tuple[Any, ...] = ()
