"""Greenhouse on Settings → Integrations: the Harvest credential form (v3 or v1), the
connection test with its permission checklist, the webhook URL and the secret we made for it,
and the "Use the sandbox" shortcut."""

from __future__ import annotations

import json

from django.conf import settings

from integrations.ats_screens import ATSScreen
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


@register
class GreenhouseScreen(ATSScreen):
    identifier = "greenhouse"
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
            # The page's notice: a sandbox Greenhouse to move a candidate in.
            sandbox_screen=f"{sandbox}/greenhouse/_sandbox/" if sandbox else "",
            notice_template="integrations/greenhouse/notice.html" if sandbox else "",
        )
        return card
