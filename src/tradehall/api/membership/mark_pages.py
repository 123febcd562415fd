"""The quality mark's public face, rendered: the badge (SVG) and the verification pages (HTML).

Pure functions of a `MarkView`; no I/O. Every text that came from outside (a holder's name
comes from anyone who registers) is made displayable, then escaped, wherever it is written:

- control characters, noncharacters, lone surrogates and the bidi embeddings, overrides and
  isolates (the text policy's `BIDI_CONTROLS`) become U+FFFD, so nothing breaks the XML or
  reorders what a reader sees; runs of whitespace become one space;
- in the badge the name is cut to a width, with an ellipsis, and each text sits in its own
  `<text>` element (a right-to-left name cannot reorder the certificate number); in the page it
  sits in a `<bdi>`.

The badge has no script, no style element or attribute, no link, no `foreignObject` and no
external reference; the page has no script and one `<style>` element allowed by its hash.
Serve them with `BADGE_HEADERS` and `PAGE_HEADERS` (a strict Content-Security-Policy each).
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

from sharedkernel.text import BIDI_CONTROLS

__all__ = [
    "BADGE_CSP",
    "BADGE_HEADERS",
    "BADGE_MEDIA_TYPE",
    "PAGE_CSP",
    "PAGE_HEADERS",
    "PAGE_MEDIA_TYPE",
    "STATUS_COLOURS",
    "MarkStatus",
    "MarkView",
    "etag_for",
    "render_badge",
    "render_page",
    "render_unknown_page",
]

MarkStatus = Literal["valid", "expired", "suspended", "revoked", "withdrawn"]
_STATUSES: Final = frozenset(get_args(MarkStatus))


@dataclass(frozen=True)
class MarkView:
    """What the public may know of a mark: all its page and badge show."""

    certificate_number: str
    status: MarkStatus
    holder_name: str
    valid_from: date | None
    valid_until: date | None

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:  # a domain state not mapped to a public one
            raise ValueError(f"not a public mark status: {self.status!r}")


MARK_NAME = "Tradehall Quality Mark"
MEANING = (
    "The Tradehall Quality Mark is awarded, after an independent assessment renewed every "
    "year, to member social enterprises that trade for a social or environmental purpose, are "
    "independent, earn at least half their income from trading, commit most of their profits "
    "to that purpose and lock their assets."
)

# Only "valid" is green; every other status is a colour a reader does not take for it. Each
# keeps white text readable (contrast 4.5:1 or more).
STATUS_COLOURS: Final[dict[str, str]] = {
    "valid": "#2e7d32",
    "expired": "#6b7280",
    "suspended": "#b45309",
    "revoked": "#b91c1c",
    "withdrawn": "#4b5563",
}
_STATUS_WORDS: Final[dict[str, str]] = {
    "valid": "Valid",
    "expired": "Expired",
    "suspended": "Suspended",
    "revoked": "Revoked",
    "withdrawn": "Withdrawn",
}
_STATUS_SENTENCES: Final[dict[str, str]] = {
    "valid": "This mark is valid: the holder may display it.",
    "expired": "This mark has expired: it was not renewed in time and may no longer be displayed.",
    "suspended": "This mark is suspended: it may not be displayed while the suspension lasts.",
    "revoked": "This mark has been revoked: it may no longer be displayed.",
    "withdrawn": "This mark has been withdrawn: the holder is no longer a member, and the "
    "mark may no longer be displayed.",
}

# --- making outside text displayable ---------------------------------------------------------

_REPLACEMENT = "\ufffd"
# Bounds the work done on a name and what the page shows of it.
_PAGE_NAME_LIMIT = 300
_ELLIPSIS = "\u2026"


def _displayable(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, one line, nothing that breaks XML or reorders."""
    cut = text[: limit + 1]
    out = []
    for char in cut:
        if char.isspace():
            out.append(" ")
        elif _hidden(char):
            out.append(_REPLACEMENT)
        else:
            out.append(char)
    shown = " ".join("".join(out).split())
    if len(text) > limit or len(shown) > limit:
        shown = _with_ellipsis(shown[:limit])
    return shown


def _hidden(char: str) -> bool:
    if char in BIDI_CONTROLS:
        return True
    category = unicodedata.category(char)
    if category in ("Cc", "Cs"):
        return True
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _with_ellipsis(text: str) -> str:
    # Do not leave a joiner or a mark with nothing after it to attach to.
    kept = text.rstrip(" \u200c\u200d\ufe0e\ufe0f")
    return kept + _ELLIPSIS


def _xml(text: str) -> str:
    """Escaped for XML text and attribute values (both quotes: attributes may use either)."""
    return escape(text, quote=True)


# --- the badge --------------------------------------------------------------------------------

BADGE_MEDIA_TYPE = "image/svg+xml; charset=utf-8"
# No style at all (presentation attributes only), nothing to load, and opened on its own the
# document is sandboxed. An <img> shows it with no script whatever its headers.
BADGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; sandbox"
BADGE_HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": BADGE_CSP,
    "X-Content-Type-Options": "nosniff",
    # Holders show the badge on their own websites.
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "public, max-age=300",
}

_FONT = "Verdana,DejaVu Sans,Geneva,sans-serif"
_TOP_HEIGHT, _BOTTOM_HEIGHT = 20, 18
_TOP_FONT, _BOTTOM_FONT = 11, 10
_PAD = 6
_NAME_MAX_WIDTH = 220.0
_NAME_MAX_CHARS = 120  # more can never fit _NAME_MAX_WIDTH: no more is looked at
_LABEL_COLOUR, _FOOT_COLOUR, _FOOT_TEXT = "#555555", "#f3f4f6", "#1f2937"


def _char_width(char: str, size: int) -> float:
    """A Verdana-like estimate; `textLength` makes the text fit whatever the real font."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        factor = 1.0
    elif char in "iljtfI.,;:!|'` ":
        factor = 0.36
    elif char in "mwMW@%":
        factor = 0.95
    elif char.isupper():
        factor = 0.72
    else:
        factor = 0.62
    return factor * size


def _width(text: str, size: int) -> float:
    return sum(_char_width(char, size) for char in text)


def _fit(text: str, size: int, max_width: float) -> str:
    """`text` cut with an ellipsis to fit `max_width`."""
    if _width(text, size) <= max_width:
        return text
    room = max_width - _char_width(_ELLIPSIS, size)
    used, kept = 0.0, 0
    for char in text:
        used += _char_width(char, size)
        if used > room:
            break
        kept += 1
    return _with_ellipsis(text[:kept])


def _text(x: float, y: float, text: str, size: int, width: float, anchor: str = "start") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'textLength="{width:.1f}" lengthAdjust="spacingAndGlyphs">{_xml(text)}</text>'
    )


def render_badge(view: MarkView) -> str:
    """An SVG badge: "Tradehall Quality Mark | <status>" above the holder and the number."""
    status = view.status
    colour = STATUS_COLOURS[status]
    status_text = status
    number = _displayable(view.certificate_number, 40)
    name = _fit(_displayable(view.holder_name, _NAME_MAX_CHARS), _BOTTOM_FONT, _NAME_MAX_WIDTH)

    label_width = _width(MARK_NAME, _TOP_FONT)
    status_width = _width(status_text, _TOP_FONT)
    name_width = _width(name, _BOTTOM_FONT)
    number_width = _width(number, _BOTTOM_FONT)
    left = label_width + 2 * _PAD
    top = left + status_width + 2 * _PAD
    bottom = name_width + number_width + 4 * _PAD
    total = max(top, bottom)
    right = total - left  # the status half takes what the bottom row needs beyond the top
    height = _TOP_HEIGHT + _BOTTOM_HEIGHT
    words = f"{MARK_NAME}: {status}. Holder: {name}. Certificate number: {number}."
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'width="{total:.0f}" height="{height}" viewBox="0 0 {total:.1f} {height}" '
        f'role="img" aria-label="{_xml(words)}">',
        f"<title>{_xml(words)}</title>",
        f'<rect width="{left:.1f}" height="{_TOP_HEIGHT}" fill="{_LABEL_COLOUR}"/>',
        f'<rect x="{left:.1f}" width="{right:.1f}" height="{_TOP_HEIGHT}" fill="{colour}"/>',
        f'<rect y="{_TOP_HEIGHT}" width="{total:.1f}" height="{_BOTTOM_HEIGHT}" '
        f'fill="{_FOOT_COLOUR}"/>',
        f'<g fill="#ffffff" font-family="{_FONT}">',
        _text(_PAD, 14, MARK_NAME, _TOP_FONT, label_width),
        _text(left + right / 2, 14, status_text, _TOP_FONT, status_width, "middle"),
        "</g>",
        f'<g fill="{_FOOT_TEXT}" font-family="{_FONT}">',
        _text(_PAD, _TOP_HEIGHT + 13, name, _BOTTOM_FONT, name_width) if name else "",
        _text(total - _PAD, _TOP_HEIGHT + 13, number, _BOTTOM_FONT, number_width, "end"),
        "</g>",
        "</svg>",
    ]
    return "".join(parts) + "\n"


def etag_for(body: str) -> str:
    """A strong ETag for a rendered body: the same bytes, the same tag."""
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


# --- the pages --------------------------------------------------------------------------------

PAGE_MEDIA_TYPE = "text/html; charset=utf-8"
_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "color:#1f2937;background:#f9fafb;line-height:1.5}"
    "main{max-width:36rem;margin:2rem auto;padding:1.5rem;background:#fff;"
    "border:1px solid #e5e7eb;border-radius:.5rem;overflow-wrap:anywhere}"
    "h1{font-size:1.4rem;margin:0 0 1rem}"
    ".status{font-weight:bold;padding:.5rem .75rem;border-radius:.25rem;color:#fff}"
    + "".join(
        f".status-{status}{{background:{colour}}}" for status, colour in STATUS_COLOURS.items()
    )
    + "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}"
    "dt{font-weight:bold}dd{margin:0}"
    ".number{font-family:ui-monospace,Menlo,Consolas,monospace}"
    "footer{font-size:.9rem;color:#4b5563}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# Nothing but the one <style> element, by its hash: no script, no style attribute, nothing
# loaded, no form, no base, not framed.
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "public, max-age=300",
}
_MONTHS = (
    *("January", "February", "March", "April", "May", "June", "July", "August"),
    *("September", "October", "November", "December"),
)


def _date(value: date | None) -> str:
    if value is None:
        return "not recorded"
    words = f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    return f'<time datetime="{value.isoformat()}">{escape(words)}</time>'


def _document(title: str, body: str, canonical: str | None = None) -> str:
    link = f'<link rel="canonical" href="{escape(canonical)}">\n' if canonical else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(title)}</title>\n{link}<style>{_STYLE}</style>\n"
        f"</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )


def _web_address(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("the verification address must be an http(s) URL")
    if any(char.isspace() or _hidden(char) for char in url) or len(url) > 2000:
        raise ValueError("the verification address holds characters a URL may not")
    return url


def render_page(view: MarkView, verify_url: str) -> str:
    """The verification page a buyer opens from a badge: holder, status, dates, number."""
    url = _web_address(verify_url)
    status = view.status
    name = _displayable(view.holder_name, _PAGE_NAME_LIMIT)
    number = _displayable(view.certificate_number, 40)
    body = (
        f"<h1>{escape(MARK_NAME)}</h1>\n"
        f'<p class="status status-{status}">{escape(_STATUS_SENTENCES[status])}</p>\n'
        "<dl>\n"
        f"<dt>Holder</dt><dd><bdi>{escape(name)}</bdi></dd>\n"
        f"<dt>Status</dt><dd>{escape(_STATUS_WORDS[status])}</dd>\n"
        f"<dt>Valid from</dt><dd>{_date(view.valid_from)}</dd>\n"
        f"<dt>Valid until</dt><dd>{_date(view.valid_until)}</dd>\n"
        f'<dt>Certificate number</dt><dd class="number">{escape(number)}</dd>\n'
        "</dl>\n"
        f"<p>{escape(MEANING)}</p>\n"
        f'<footer><p>This page: <a href="{escape(url)}" rel="nofollow">{escape(url)}</a></p>'
        "</footer>\n"
    )
    title = f"{MARK_NAME} {number}: {_STATUS_WORDS[status].lower()}"
    return _document(title, body, canonical=url)


def render_unknown_page(mistyped: bool) -> str:
    """The 404 page: it says nothing of any mark, nor repeats what was asked for."""
    if mistyped:
        advice = (
            "This certificate number's last character, its check character, does not match "
            "the rest: a character was probably mistyped, or two swapped. Please compare it "
            "with the certificate or the badge and try again."
        )
    else:
        advice = (
            "Please compare the number with the certificate or the badge. A number looks like "
            "TQM-1234-ABCD-5; case, spaces and hyphens do not matter."
        )
    body = (
        f"<h1>{escape(MARK_NAME)}: certificate not found</h1>\n"
        "<p>No mark has this certificate number.</p>\n"
        f"<p>{escape(advice)}</p>\n"
    )
    return _document(f"{MARK_NAME}: certificate not found", body)
