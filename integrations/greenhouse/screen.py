"""Greenhouse on Settings → Integrations: the Harvest credential form (v3 or v1), the
connection test with its permission checklist, the check of the "Video Interview" candidate
custom field (with every test, and on its own button), the webhook URL and the secret we made
for it, and the "Use the sandbox" shortcut."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages

from integrations.ats_screens import ATSScreen
from integrations.base import VIDEO_INTERVIEW_FIELD
from integrations.connections import link_field_check
from integrations.greenhouse.forms import GreenhouseConnectForm
from integrations.greenhouse.models import GreenhouseConnection, HarvestVersion
from integrations.screens import register

WEBHOOK_EVENTS = (
    "Candidate has changed stage",
    "Candidate or Prospect rejected",
    "Candidate hired",
    "Candidate unrejected",
    "Application updated",
    "Merge candidate",
    "Delete candidate",
)
SESSION_VIDEO_FIELD = "integrations:video_field:greenhouse"
# A sandbox company of an organization's own ("Use the sandbox") has the v3 client
# ``sandbox-client-<company key>``; the default company's is ``sandbox-client-id``.
SANDBOX_CLIENT_PREFIX = "sandbox-client-"


def sandbox_screen_for(connection) -> str:
    """The sandbox Greenhouse screen ``connection`` reads from ("" when it is not the
    sandbox's): the organization's own company's, or the default company's."""
    sandbox = (settings.SANDBOX_URL or "").rstrip("/")
    if not sandbox or connection is None or not connection.base_url.startswith(sandbox):
        return ""
    client_id = connection.client_id or ""
    key = client_id[len(SANDBOX_CLIENT_PREFIX) :]
    if client_id.startswith(SANDBOX_CLIENT_PREFIX) and key != "id":
        return f"{sandbox}/greenhouse/companies/{key}/_sandbox/"
    return f"{sandbox}/greenhouse/_sandbox/"


@register
class GreenhouseScreen(ATSScreen):
    identifier = "greenhouse"
    candidate_pages = {"https://harvest.greenhouse.io": "https://app.greenhouse.io/people/{id}"}
    label = "Greenhouse"
    logo = "img/integrations/greenhouse.svg"
    help_text = (
        "Create a Harvest credential in Greenhouse under Configure → Dev Center → API Credential "
        "Management → Create New API Key (type Harvest), then give it the permissions listed "
        "after the first test."
    )
    docs_url = "https://developers.greenhouse.io/harvest.html"
    model = GreenhouseConnection
    form_class = GreenhouseConnectForm
    legacy_routes = (
        ("greenhouse/", "save", "greenhouse"),
        ("greenhouse/test/", "test", "greenhouse_test"),
        ("greenhouse/disconnect/", "disconnect", "greenhouse_disconnect"),
    )
    fix_permissions = (
        "In Greenhouse, go to Configure → Dev Center → API Credential Management, open "
        "this credential's “Manage permissions”, tick every permission marked ✗ below, click "
        "Update, then press “Test connection”."
    )
    webhook_events = WEBHOOK_EVENTS
    forget_on_disconnect = {"api_key": "", "client_secret": ""}
    disconnected_message = (
        "Greenhouse is disconnected: no more syncs, and webhooks from it are refused. "
        "Candidates already synced stay in RecruitFlow."
    )

    def card(self, request, page, *, form=None):
        card = super().card(request, page, form=form)
        row = card["connection"]
        sandbox = settings.SANDBOX_URL
        fill = (
            {
                "api_version": HarvestVersion.V3,
                "base_url": f"{sandbox}/greenhouse",
                "client_id": "sandbox-client-id",
                "client_secret": "sandbox-client-secret",
                "acting_user_id": "100001",
            }
            if sandbox
            else None
        )
        card.update(
            webhook_secret=row.webhook_secret if row else "",
            sandbox_fill_json=json.dumps(fill) if fill else "",
            # The page's notice: a sandbox Greenhouse to move a candidate in (the organization's
            # own sandbox company when it uses one).
            sandbox_screen=sandbox_screen_for(row)
            or (f"{sandbox}/greenhouse/_sandbox/" if sandbox else ""),
            sandbox_own=bool(sandbox_screen_for(row)),
            notice_template="integrations/greenhouse/notice.html" if sandbox else "",
            video_field=self._video_field_result(request) if card["connected"] else None,
        )
        return card

    # -- the "Video Interview" custom field ----------------------------------------------------

    def _video_field_result(self, request) -> dict | None:
        stored = request.session.get(SESSION_VIDEO_FIELD)
        if not stored:
            return None
        return {**stored, "checked_at": datetime.fromtimestamp(stored["checked_at"], tz=UTC)}

    def _check_video_field(self, request, row) -> dict:
        check = link_field_check(row, VIDEO_INTERVIEW_FIELD)
        result = {
            "name": check.name,
            "ok": check.ok,
            "detail": check.detail,
            "checked_at": datetime.now(tz=UTC).timestamp(),
        }
        request.session[SESSION_VIDEO_FIELD] = result
        return result

    def tested(self, request, row):
        """Every test also checks the custom field (when Greenhouse answered at all)."""
        result = super().tested(request, row)
        if result.checks:
            self._check_video_field(request, row)
        else:
            request.session.pop(SESSION_VIDEO_FIELD, None)
        return result

    def action_video_field(self, request, page):
        """The card's "Check the Video Interview field" button (after creating the field)."""
        row = self.own(request.organization)
        if not self.connected(row):
            messages.error(request, f"Connect {self.label} first.")
            return self.back(page, anchor="")
        result = self._check_video_field(request, row)
        if result["ok"]:
            messages.success(request, f"The “{VIDEO_INTERVIEW_FIELD}” custom field is ready.")
        elif result["ok"] is None:
            messages.warning(request, result["detail"])
        else:
            messages.error(
                request,
                f"The “{VIDEO_INTERVIEW_FIELD}” custom field is not ready: see the card.",
            )
        return self.back(page, anchor="greenhouse-video-field")

    def disconnect(self, request, page):
        request.session.pop(SESSION_VIDEO_FIELD, None)
        return super().disconnect(request, page)
