"""Signed links: the candidate's scheduling link, a template's public link (and the confirmation
it e-mails to an address that is already a candidate's), a member's feed.

The database keeps a random token per request / template / calendar; the URL carries that token
*signed* with the project's secret key (``<token>:<signature>``, a salt per kind of link). A URL
converter signs on ``reverse`` and checks on resolve, so views receive the bare token and code
builds links with ``reverse("booking:page", args=[request.token])`` as usual. A token read out
of the database (a backup, a log) is not a working link without the secret, and a tampered URL
resolves to an empty token, which matches nothing (404).
"""

from __future__ import annotations

from django.core import signing


class _SignedToken:
    # Loose on purpose: a bare or tampered token still reaches the view, as "" (a 404 page).
    regex = r"[A-Za-z0-9_:\-]+"
    salt = ""

    def to_python(self, value: str) -> str:
        try:
            return signing.Signer(salt=self.salt).unsign(value)
        except signing.BadSignature:
            return ""

    def to_url(self, value: str) -> str:
        if not value:
            raise ValueError("A link needs a token.")
        return signing.Signer(salt=self.salt).sign(value)


class RequestTokenConverter(_SignedToken):
    salt = "scheduling.request"


class PublicTokenConverter(_SignedToken):
    salt = "scheduling.public-link"


class FeedTokenConverter(_SignedToken):
    salt = "scheduling.calendar-feed"


# --------------------------------------------------------------------------------------------
# The confirmation link of the public link
# --------------------------------------------------------------------------------------------

CONFIRMATION_SALT = "scheduling.public-link-confirm"


class ConfirmationInvalid(Exception):
    """The confirmation link was cut short or changed: it proves nothing."""


class ConfirmationExpired(Exception):
    """The confirmation link is genuine but older than it may be."""


def confirmation_sign(*, template_id: int, candidate_id: int, zone: str = "") -> str:
    """A signed, timestamped proof that whoever opens it reads ``candidate_id``'s e-mail: what
    the public link e-mails to an address that is already a candidate's."""
    payload = {"t": template_id, "c": candidate_id}
    if zone:
        payload["z"] = zone
    return signing.dumps(payload, salt=CONFIRMATION_SALT)


def confirmation_read(value: str, *, max_age_seconds: int) -> dict:
    """``{"template_id", "candidate_id", "zone"}`` of a confirmation link. Raises
    :class:`ConfirmationExpired` when it is older than ``max_age_seconds`` and
    :class:`ConfirmationInvalid` when it was not made by :func:`confirmation_sign`."""
    try:
        payload = signing.loads(value or "", salt=CONFIRMATION_SALT, max_age=max_age_seconds)
    except signing.SignatureExpired as exc:
        raise ConfirmationExpired(str(exc)) from exc
    except (signing.BadSignature, ValueError) as exc:
        raise ConfirmationInvalid(str(exc)) from exc
    if not isinstance(payload, dict) or not all(
        isinstance(payload.get(k), int) for k in ("t", "c")
    ):
        raise ConfirmationInvalid("The link does not name a template and a candidate.")
    zone = payload.get("z")
    return {
        "template_id": payload["t"],
        "candidate_id": payload["c"],
        "zone": zone if isinstance(zone, str) else "",
    }


def register() -> None:
    """Make ``<request_token:…>``, ``<public_token:…>`` and ``<feed_token:…>`` usable in URL
    patterns (idempotent: every URL module that uses them calls it first)."""
    from django.urls import register_converter
    from django.urls.converters import get_converters

    known = get_converters()
    for name, converter in (
        ("request_token", RequestTokenConverter),
        ("public_token", PublicTokenConverter),
        ("feed_token", FeedTokenConverter),
    ):
        if name not in known:
            register_converter(converter, name)
