"""(Being built for issue 13.)"""

from __future__ import annotations

from litestar import Controller

CONTROLLERS: tuple[type[Controller], ...] = ()
