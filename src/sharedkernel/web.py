"""A web address an organisation gives (its website): parsed as a browser would, never by a
home-made pattern.

The parser is Ada (`ada-url`), the WHATWG URL Standard's implementation that Node.js uses: what
it accepts is what a browser following the link would open. On top of the standard: only http
and https, a host, no user name or password (a link that signs in is no website), and bounded
length, before and after normalisation (an international domain name grows as punycode).
"""

from __future__ import annotations

from ada_url import URL

from sharedkernel.errors import InvalidValue

MAX_WEB_ADDRESS = 2000
_SCHEMES = frozenset({"http:", "https:"})


def web_address(value: str, *, field: str = "website") -> str:
    """`value` as the absolute http(s) URL it denotes, normalised (`HTTPS://Example.org` ->
    `https://example.org/`); InvalidValue naming `field` otherwise."""
    text = value.strip()
    if len(text) > MAX_WEB_ADDRESS:
        raise InvalidValue(field, f"longer than {MAX_WEB_ADDRESS} characters")
    try:
        url = URL(text)
    except ValueError:
        raise InvalidValue(field, "is not an absolute web address (https://...)") from None
    if url.protocol not in _SCHEMES:
        raise InvalidValue(field, "an http or https address")
    if not url.hostname:
        raise InvalidValue(field, "the address names no host")
    if url.username or url.password:
        raise InvalidValue(field, "an address without a user name or password")
    normalised = url.href
    if len(normalised) > MAX_WEB_ADDRESS:
        raise InvalidValue(field, f"longer than {MAX_WEB_ADDRESS} characters")
    return normalised
