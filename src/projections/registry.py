"""Every projection the service runs."""

from __future__ import annotations

from projections.applications import ApplicationsProjection
from projections.base import Projection
from projections.directory import DirectoryProjection


def all_projections() -> list[Projection]:
    return [DirectoryProjection(), ApplicationsProjection()]
