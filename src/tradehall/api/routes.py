"""The app's HTTP route handlers, for what is done to each of them as the app is built."""

from __future__ import annotations

from collections.abc import Iterator

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute


def http_handlers(app: Litestar) -> Iterator[tuple[HTTPRoute, HTTPRouteHandler]]:
    """Each HTTP route with each of its handlers (Litestar's automatic OPTIONS ones too)."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                yield route, handler
