"""Additions to one response's Content-Security-Policy.

The policy (``CONTENT_SECURITY_POLICY`` in settings) allows forms to post only to this site
(``form-action 'self'``), and browsers apply ``form-action`` to the redirect a form's answer
makes too. A page whose button leads, through our POST, to a provider's sign-in page (connecting
a calendar, an ATS by OAuth) must name that page's origin, or the browser silently stops at the
redirect."""

from __future__ import annotations

from urllib.parse import urlsplit


def allow_form_target(response, *urls: str | None):
    """Let the forms of the page in ``response`` lead to the origins of ``urls`` (None and
    non-web addresses are skipped). Returns ``response``."""
    origins = []
    for url in urls:
        parts = urlsplit(url or "")
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in ("http", "https") and parts.netloc and origin not in origins:
            origins.append(origin)
    if origins:
        update = dict(getattr(response, "_csp_update", None) or {})
        update["form-action"] = [*update.get("form-action", []), *origins]
        response._csp_update = update
    return response
