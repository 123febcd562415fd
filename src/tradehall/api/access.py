"""Who may call each route. Every route handler declares an `Access` rule in its opt.

The app-wide guard enforces the rule; a handler without one is refused at start-up and by the
route-table test, so every new route has to say who may call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from tradehall.identity.users import Role, User

ACCESS_KEY = "access"
EXCLUDE_FROM_AUTH_KEY = "exclude_from_auth"


@dataclass(frozen=True)
class Access:
    """A route's rule.

    public: anyone, signed in or not.
    roles: a signed-in user holding any of these roles may call it.
    own_organisation: the name of a path parameter; a signed-in user of that organisation may
    call it (in addition to `roles`).
    """

    description: str
    public: bool = False
    roles: frozenset[Role] = field(default_factory=frozenset)
    own_organisation: str | None = None
    # With own_organisation: the organisation's users must also hold one of these roles.
    own_roles: frozenset[Role] = field(default_factory=frozenset)

    def allows(self, user: User | None, path_params: dict[str, Any]) -> bool:
        if self.public:
            return True
        if user is None:
            return False
        if self.roles & user.roles:
            return True
        if self.own_organisation is not None:
            target = path_params.get(self.own_organisation)
            return (
                user.organisation_id is not None
                and target is not None
                and UUID(str(target)) == user.organisation_id
                and (not self.own_roles or bool(self.own_roles & user.roles))
            )
        return False


PUBLIC = Access("anyone", public=True)


def staff_only(description: str = "association staff") -> Access:
    return Access(description, roles=frozenset({Role.STAFF}))


def own_organisation_or_staff(param: str = "organisation_id") -> Access:
    return Access(
        "users of the organisation, or staff", roles=frozenset({Role.STAFF}), own_organisation=param
    )


def own_organisation(param: str = "organisation_id") -> Access:
    return Access("users of the organisation", own_organisation=param)


def own_organisation_admin(param: str = "organisation_id") -> Access:
    return Access(
        "admins of the organisation",
        own_organisation=param,
        own_roles=frozenset({Role.ADMIN}),
    )


SIGNED_IN = Access("signed-in users", roles=frozenset(Role))


def rule(access: Access) -> dict[str, Any]:
    """The opt mapping a route handler declares: `@get(..., opt=rule(PUBLIC))`."""
    return {ACCESS_KEY: access, EXCLUDE_FROM_AUTH_KEY: access.public}


def declared_access(handler: BaseRouteHandler) -> Access | None:
    found = handler.opt.get(ACCESS_KEY)
    return found if isinstance(found, Access) else None


def _is_automatic_options(handler: BaseRouteHandler) -> bool:
    """The OPTIONS handlers Litestar makes for every path: they answer `Allow` and run nothing
    of ours. A hand-written OPTIONS handler is not one of them and must declare its rule."""
    fn = getattr(handler, "fn", None)
    return getattr(fn, "__module__", "") == "litestar.routes.http" and getattr(
        fn, "__qualname__", ""
    ).startswith("HTTPRoute.create_options_handler.")


def is_declared(handler: BaseRouteHandler) -> bool:
    return _is_automatic_options(handler) or declared_access(handler) is not None


def access_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if _is_automatic_options(handler):
        return
    declared = declared_access(handler)
    if declared is None:
        raise PermissionDeniedException("this route declares no access rule")
    if declared.public:
        return
    user = connection.scope.get("user")
    if not isinstance(user, User):
        raise NotAuthorizedException("sign in first")
    if not declared.allows(user, connection.path_params):
        raise PermissionDeniedException(f"only {declared.description} may do this")
