"""The quality mark's badge and pages: hostile names stay text, statuses never pass as valid."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest

from tradehall.api.membership.mark_pages import (
    BADGE_CSP,
    PAGE_CSP,
    STATUS_COLOURS,
    MarkStatus,
    MarkView,
    etag_for,
    render_badge,
    render_page,
    render_unknown_page,
)

SVG = "{http://www.w3.org/2000/svg}"
URL = "https://tradehall.example/api/v1/marks/TQM-29CJ-C969-8"
STATUSES: list[MarkStatus] = ["valid", "expired", "suspended", "revoked", "withdrawn"]
GREEN = STATUS_COLOURS["valid"]

HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "'><img src=x onerror=alert(1)>",
    "]]><script>alert(1)</script><![CDATA[",
    "Fish & Chips <Co-op> \"Ltd\" 'plc'",
    "&amp; &lt; &#60; &#x3c;",
    "Acme \u202evalid\u202c Ltd \u2066x\u2069",  # a right-to-left override
    "Null\x00 bell\x07 esc\x1b del\x7f c1\x85 \ufffe \ud800",
    "line\nbreak\rtab\tend",
    "<!-- comment --> <?xml-stylesheet href='x'?> <!DOCTYPE x>",
    "javascript:alert(1)",
    "\u0645\u062e\u0628\u0632 \u0627\u0644\u062e\u0636\u0631\u0627\u0621 TQM-0000-0000-0",
]


def view(status: MarkStatus = "valid", name: str = "Green Bakery Co-operative Ltd") -> MarkView:
    return MarkView(
        certificate_number="TQM-29CJ-C969-8",
        status=status,
        holder_name=name,
        valid_from=date(2026, 5, 1),
        valid_until=date(2027, 4, 30),
    )


def svg_root(svg: str) -> ET.Element:
    # Our own output, so the standard library parser is safe here (nothing to expand).
    return ET.fromstring(svg)  # noqa: S314


def svg_texts(svg: str) -> list[str]:
    return [text.text or "" for text in svg_root(svg).iter(f"{SVG}text")]


def assert_inert_svg(svg: str) -> None:
    root = svg_root(svg)
    assert root.tag == f"{SVG}svg"
    allowed = {f"{SVG}{name}" for name in ("svg", "title", "rect", "g", "text")}
    for element in root.iter():
        assert element.tag in allowed, element.tag
        for attribute in element.attrib:
            local = attribute.rsplit("}", 1)[-1].lower()
            assert not local.startswith("on"), attribute
            assert local not in ("href", "src", "style"), attribute
    lowered = svg.lower()
    for forbidden in ("<script", "foreignobject", "href", "url(", "<style", "<!entity", "<!["):
        assert forbidden not in lowered


class Tags(HTMLParser):
    """Every tag and attribute a browser would see, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.seen: list[tuple[str, tuple[tuple[str, str | None], ...]]] = []
        self.comments: list[str] = []
        self.declarations: list[str] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, tuple(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.seen.append(("/" + tag, ()))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    def handle_pi(self, data: str) -> None:
        self.declarations.append(data)

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def tags(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser


def structure(html: str) -> list[Any]:
    """The tags and attribute names (not values that carry data) of a page."""
    return [(tag, tuple(name for name, _ in attrs)) for tag, attrs in tags(html).seen]


# --- the badge --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_the_badge_shows_its_status_in_its_colour_and_only_valid_is_green(
    status: MarkStatus,
) -> None:
    svg = render_badge(view(status))
    assert_inert_svg(svg)
    fills = {rect.get("fill") for rect in svg_root(svg).iter(f"{SVG}rect")}
    assert STATUS_COLOURS[status] in fills
    assert (GREEN in fills) is (status == "valid")
    texts = svg_texts(svg)
    assert texts[:2] == ["Tradehall Quality Mark", status]
    assert "TQM-29CJ-C969-8" in texts
    if status != "valid":
        assert not any(text == "valid" for text in texts)


def test_the_colours_of_other_statuses_are_not_green() -> None:
    assert len(set(STATUS_COLOURS.values())) == len(STATUS_COLOURS)
    for status, colour in STATUS_COLOURS.items():
        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert (green > red and green > blue) is (status == "valid"), status


def test_a_status_the_public_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="public mark status"):
        view("awarded")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_is_text_in_the_badge(name: str) -> None:
    svg = render_badge(view("suspended", name))
    assert_inert_svg(svg)
    root = svg_root(svg)
    assert [element.tag for element in root.iter()] == [
        element.tag for element in svg_root(render_badge(view("suspended"))).iter()
    ]
    shown = svg_texts(svg)[2]
    for hidden in ("\u202e", "\u202c", "\u2066", "\u2069", "\x00", "\x07", "\x1b", "\x7f"):
        assert hidden not in shown
    assert "\n" not in shown
    assert "\ud800" not in svg
    svg.encode("utf-8")  # no lone surrogate left to fail on the way out


def test_a_long_name_is_cut_with_an_ellipsis_and_the_number_still_shows() -> None:
    name = "Very Long Name Social Enterprise Community Interest Company " * 40
    svg = render_badge(view("valid", name))
    assert_inert_svg(svg)
    shown = svg_texts(svg)[2]
    assert shown.endswith("\u2026")
    assert len(shown) < 60
    assert name.startswith(shown[:-1])
    assert svg_texts(svg)[3] == "TQM-29CJ-C969-8"
    width = float(svg_root(svg).get("width") or 0)
    assert width < 400


def test_a_wide_name_is_cut_shorter_than_a_narrow_one() -> None:
    wide = svg_texts(render_badge(view("valid", "\u682a" * 200)))[2]
    narrow = svg_texts(render_badge(view("valid", "i" * 200)))[2]
    assert wide.endswith("\u2026")
    assert narrow.endswith("\u2026")
    assert len(wide) < len(narrow)


def test_a_cut_never_leaves_a_dangling_joiner() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    shown = svg_texts(render_badge(view("valid", family * 100)))[2]
    assert shown.endswith("\u2026")
    assert not shown[:-1].endswith("\u200d")


def test_the_badge_is_the_same_for_the_same_view_and_its_etag_follows() -> None:
    assert render_badge(view("valid")) == render_badge(view("valid"))
    assert etag_for(render_badge(view("valid"))) == etag_for(render_badge(view("valid")))
    assert etag_for(render_badge(view("valid"))) != etag_for(render_badge(view("suspended")))
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag_for(render_badge(view("valid"))))


def test_the_badge_policy_allows_nothing() -> None:
    directives = [part.strip().split(" ") for part in BADGE_CSP.split(";")]
    assert ["default-src", "'none'"] in directives
    assert ["sandbox"] in directives
    assert "unsafe" not in BADGE_CSP
    assert "sandbox" in BADGE_CSP


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_the_page_says_the_status_in_words_with_the_dates_and_number(status: MarkStatus) -> None:
    html = render_page(view(status), URL)
    parsed = tags(html)
    text = " ".join(parsed.data)
    assert "Green Bakery Co-operative Ltd" in text
    assert "TQM-29CJ-C969-8" in text
    assert "1 May 2026" in text
    assert "30 April 2027" in text
    assert status.capitalize() in text
    assert (
        f"This mark is {status}" in text
        or f"This mark has been {status}" in text
        or (f"This mark has {status}" in text)
    )
    assert "awarded" in text  # what the mark means
    assert ("may display it" in text) is (status == "valid")
    assert html.startswith("<!DOCTYPE html>")


def test_missing_dates_say_so() -> None:
    html = render_page(replace(view("withdrawn"), valid_from=None, valid_until=None), URL)
    assert html.count("not recorded") == 2


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_is_text_in_the_page(name: str) -> None:
    html = render_page(view("revoked", name), URL)
    plain = render_page(view("revoked"), URL)
    assert structure(html) == structure(plain)
    parsed = tags(html)
    assert parsed.comments == []
    assert parsed.declarations == ["DOCTYPE html"]
    assert "<script" not in html.lower()
    for hidden in ("\u202e", "\u202c", "\u2066", "\u2069", "\x00", "\x07", "\x1b", "\x7f"):
        assert hidden not in html
    html.encode("utf-8")


def test_every_bracket_in_the_page_comes_from_the_template() -> None:
    name = "<<<>>>" * 10
    html = render_page(view("valid", name), URL)
    assert html.count("<") == render_page(view("valid"), URL).count("<")
    assert "&lt;&lt;&lt;&gt;&gt;&gt;" in html


def test_a_very_long_name_is_bounded_in_the_page() -> None:
    html = render_page(view("valid", "x" * 100_000), URL)
    assert len(html) < 10_000
    assert "x\u2026" in html


def test_the_page_style_is_allowed_by_its_hash_and_nothing_else_is() -> None:
    html = render_page(view("valid"), URL)
    styles = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in PAGE_CSP
    assert "unsafe" not in PAGE_CSP
    assert "default-src 'none'" in PAGE_CSP
    assert "frame-ancestors 'none'" in PAGE_CSP
    for tag, attrs in tags(html).seen:
        assert tag not in ("script", "iframe", "object", "embed", "img", "form", "base")
        for attribute, _ in attrs:
            assert not attribute.startswith("on")
            assert attribute != "style"
    for page in (render_unknown_page(mistyped=True), render_unknown_page(mistyped=False)):
        assert re.findall(r"<style>(.*?)</style>", page, re.DOTALL) == styles


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,x",
        "//tradehall.example/x",
        "https://tradehall.example/x y",
        "https://tradehall.example/\u202ex",
        "",
    ],
)
def test_the_verification_address_must_be_a_web_address(url: str) -> None:
    with pytest.raises(ValueError, match="verification address"):
        render_page(view("valid"), url)


def test_the_verification_address_is_escaped() -> None:
    html = render_page(view("valid"), URL + '?a=1&b="x"')
    assert "?a=1&amp;b=&quot;x&quot;" in html


# --- the unknown page -------------------------------------------------------------------------


def test_the_unknown_page_says_nothing_of_any_mark() -> None:
    unknown = render_unknown_page(mistyped=False)
    mistyped = render_unknown_page(mistyped=True)
    for page in (unknown, mistyped):
        assert structure(page)[:3] == structure(render_page(view("valid"), URL))[:3]
        assert "TQM-29CJ-C969-8" not in page
        assert "not found" in page
        assert "<script" not in page
    assert "check character" in mistyped
    assert "mistyped" in mistyped
    assert "check character" not in unknown
