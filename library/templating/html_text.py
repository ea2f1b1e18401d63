"""HTML → plain text: the readable plain-text part derived from an e-mail's HTML body."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _TextExtractor(HTMLParser):
    _PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table", "pre"}
    _LINE = {"div", "tr", "section", "article", "header", "footer", "dd", "dt", "address"}
    _SKIP = {"head", "style", "script", "title", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.links: list[tuple[str, int]] = []  # (href, position in out)
        self.lists: list[list] = []  # ["ul"|"ol", counter]
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self._SKIP:
            self.skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "hr":
            self.out.append("\n\n----------\n\n")
        elif tag in ("ul", "ol"):
            self.out.append("\n\n")
            self.lists.append([tag, 0])
        elif tag == "li":
            self.out.append("\n")
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                self.out.append(f"{self.lists[-1][1]}. ")
            else:
                self.out.append("- ")
        elif tag in self._PARAGRAPH:
            self.out.append("\n\n")
            if tag == "pre":
                self.pre += 1
        elif tag in self._LINE:
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append("  ")
        elif tag == "a":
            self.links.append((attrs.get("href") or "", len(self.out)))
        elif tag == "img" and attrs.get("alt"):
            self.out.append(attrs["alt"])

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.out.append("\n\n")
        elif tag in self._PARAGRAPH:
            self.out.append("\n\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag in self._LINE:
            self.out.append("\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = re.sub(r"\s+", " ", "".join(self.out[start:])).strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            if target and not href.startswith("#") and target != text:
                self.out.append(f" ({target})" if text else target)

    def handle_data(self, data):
        if self.skip:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A readable plain-text version of an e-mail's HTML: paragraphs and line breaks kept, links
    written as "text (url)", lists as "- item". Merge fields and ``{% if %}`` pass through, so
    this works on template source as well as on a rendered e-mail."""
    parser = _TextExtractor()
    parser.feed(html or "")
    parser.close()
    text = "".join(parser.out)
    lines = [re.sub(r"[ \t]{2,}", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
