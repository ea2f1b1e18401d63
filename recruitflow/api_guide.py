"""The Partner guide (docs/partner-guide.md) as a public page at /api/v1/guide/, linked from the
Swagger UI. Headings carry their anchors (`## Errors {#errors}`), so each problem type's `type`
URI (`…/api/v1/guide/#problem-validation`) opens its explanation."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.shortcuts import render
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

from .decorators import public

GUIDE = Path(settings.BASE_DIR) / "docs" / "partner-guide.md"
_ANCHOR = re.compile(r"\s*\{#([A-Za-z0-9_-]+)\}\s*$")


def _anchors(md: MarkdownIt) -> None:
    """`## Title {#id}` → `<h2 id="id">Title</h2>`."""

    def rule(state) -> None:
        tokens = state.tokens
        for index, token in enumerate(tokens):
            if token.type != "heading_open":
                continue
            inline = tokens[index + 1]
            found = _ANCHOR.search(inline.content)
            if not found:
                continue
            token.attrSet("id", found.group(1))
            inline.content = inline.content[: found.start()]
            if inline.children:
                last = inline.children[-1]
                last.content = _ANCHOR.sub("", last.content)

    md.core.ruler.push("heading_anchors", rule)


@lru_cache(maxsize=1)
def _rendered(mtime: float) -> tuple[str, str]:
    text = GUIDE.read_text(encoding="utf-8")
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    _anchors(md)
    title = text.splitlines()[0].lstrip("# ").strip() if text else "Partner guide"
    return title, md.render(text)


@public
def partner_guide(request):
    title, html = _rendered(GUIDE.stat().st_mtime)
    return render(request, "api/guide.html", {"title": title, "guide": mark_safe(html)})
