"""The branded layout every outbound e-mail is wrapped in, and its plain-text part.

An e-mail leaves with both parts, always: the HTML part is the message's own HTML (or its text,
turned into paragraphs and links) inside the organization's layout — logo, brand colour, name —
and the plain-text part is the message's text, or the HTML's text when the message has only
HTML. Styles are inline: mail clients ignore stylesheets, and the site's CSP does not apply to
e-mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import linebreaks, urlize
from django.utils.safestring import mark_safe

LAYOUT_TEMPLATE = "messaging/email/layout.html"
DEFAULT_BRAND = "#2563eb"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
UNSTYLED_LINK = re.compile(r"<a\b(?![^>]*\bstyle=)", re.IGNORECASE)

BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "div",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)
SKIPPED_TAGS = frozenset({"head", "script", "style", "title"})
LIST_ITEM = re.compile(r"^( *)- (.*)$")


@dataclass(frozen=True)
class RenderedEmail:
    html: str
    text: str


def brand_colours(colour: str | None) -> tuple[str, str]:
    """``(brand, ink)``: the organization's colour (the default when it is not a ``#rrggbb``
    value) and the text colour readable on it (white or near-black, by WCAG luminance)."""
    brand = colour if colour and HEX_COLOUR.match(colour) else DEFAULT_BRAND

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(brand[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast against white vs. against #111827; pick the stronger.
    on_white = 1.05 / (luminance + 0.05)
    on_dark = (luminance + 0.05) / 0.0571
    return brand, "#ffffff" if on_white >= on_dark else "#111827"


def logo_url(organization) -> str | None:
    """The organization's logo as an absolute URL (mail clients cannot resolve relative ones)."""
    if not organization.logo:
        return None
    url = organization.logo.url
    if url.startswith(("http://", "https://")):
        return url
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/" + url.lstrip("/")


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, paragraphs at blank lines, line breaks kept, links live."""
    return linebreaks(urlize(text or "", autoescape=True), autoescape=False)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.links: list[tuple[str | None, int]] = []
        self.list_depth = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("ul", "ol"):
            if not self.list_depth:
                self.parts.append("\n")
            self.list_depth += 1
        elif tag == "li":
            self.parts.append("\n" + "  " * max(0, self.list_depth - 1) + "- ")
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        if tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.parts)))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
            return
        if tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.parts[start:]).strip()
            if href and not href.startswith(("#", "javascript:")):
                target = href[len("mailto:") :] if href.startswith("mailto:") else href
                if label != target:
                    self.parts.append(f" ({target})" if label else target)
        elif tag in ("ul", "ol"):
            self.list_depth = max(0, self.list_depth - 1)
            if not self.list_depth:
                self.parts.append("\n\n")
        elif tag == "li":
            pass  # the next item or the end of the list starts the next line
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: paragraphs and line breaks kept, list items as "- ",
    links as "label (url)", scripts and styles dropped, entities decoded."""
    parser = _TextExtractor()
    parser.feed(html or "")
    parser.close()
    lines = []
    for line in "".join(parser.parts).split("\n"):
        item = LIST_ITEM.match(line)
        # A list item keeps the indentation of its level; any other line is trimmed.
        lines.append(item.group(1) + "- " + item.group(2).strip() if item else line.strip())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def email_render(*, organization, subject: str, html: str = "", text: str = "") -> RenderedEmail:
    """Both parts of an e-mail from ``organization``: ``html`` (or ``text``) inside the
    branded layout, and ``text`` (or the text of ``html``)."""
    brand, ink = brand_colours(organization.brand_color)
    content = html.strip() if html and html.strip() else text_to_html(text)
    content = UNSTYLED_LINK.sub(f'<a style="color:{brand};"', content)
    rendered = render_to_string(
        LAYOUT_TEMPLATE,
        {
            "subject": subject,
            "organization_name": organization.name,
            "brand": brand,
            "ink": ink,
            "logo_url": logo_url(organization),
            "content": mark_safe(content),  # noqa: S308 - the message's own (escaped) HTML
        },
    )
    plain = text.strip() if text and text.strip() else html_to_text(html)
    return RenderedEmail(html=rendered, text=plain or subject)
