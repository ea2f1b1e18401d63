"""The flow every ATS vendor's card follows on Settings → Integrations: save the settings form
and test the connection at once, test again, disconnect (forgetting the credentials), with the
test's permission checklist kept in the session until the next test."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.urls import NoReverseMatch, reverse

from integrations.connections import ConnectionTestResult, connection_test
from integrations.models import ConnectionStatus
from integrations.screens import ProviderScreen, SettingsPage

STATUS_TONE = {
    ConnectionStatus.CONNECTED: "ok",
    ConnectionStatus.ERROR: "bad",
    ConnectionStatus.DISCONNECTED: "warn",
    ConnectionStatus.NOT_CONNECTED: "",
}
SESSION_RESULT = "integrations:test:{provider}"


class ATSScreen(ProviderScreen):
    capability = "ats"
    save_get_redirects = True
    model: ClassVar[type]
    form_class: ClassVar[type]
    # What to do when the test finds permissions missing.
    fix_permissions: ClassVar[str] = ""
    # The webhook events to turn on at the vendor.
    webhook_events: ClassVar[tuple[str, ...]] = ()
    # Secrets (and token fields) a disconnect forgets, with the value they are reset to.
    forget_on_disconnect: ClassVar[dict[str, Any]] = {}
    disconnected_message: ClassVar[str] = ""
    # The vendor's own page of a candidate, by the API address the connection uses: a pattern
    # with ``{id}`` (the candidate's id in the ATS). An address not listed (the sandbox, a
    # custom one) has no page to open.
    candidate_pages: ClassVar[dict[str, str]] = {}

    def own(self, organization):
        return self.model.objects.filter(organization=organization).first()

    def connected(self, row) -> bool:
        return row is not None and row.status != ConnectionStatus.DISCONNECTED

    def form(self, row, organization, data=None):
        return self.form_class(data, instance=row or self.model(organization=organization))

    def save_form(self, form):
        """Store a valid form; returns the connection."""
        return form.save()

    def candidate_url(self, row, external_id: str) -> str:
        """The candidate's page in the ATS for the connection ``row``, or "" when unknown."""
        if row is None or not external_id:
            return ""
        pattern = self.candidate_pages.get((getattr(row, "base_url", "") or "").rstrip("/"))
        return pattern.format(id=quote(str(external_id), safe="")) if pattern else ""

    # -- the card --------------------------------------------------------------------------

    def webhook_url(self, row) -> str | None:
        if row is None:
            return None
        try:
            path = reverse(f"webhooks:{self.identifier}", args=[row.endpoint_token])
        except NoReverseMatch:  # the webhook endpoints are not installed
            return None
        return settings.PUBLIC_BASE_URL + path

    def card(self, request, page: SettingsPage, *, form=None) -> dict[str, Any]:
        organization = request.organization
        row = self.own(organization)
        connected = self.connected(row)
        return {
            **super().card(request, page, form=form),
            "connection": row,
            "connected": connected,
            "tone": STATUS_TONE.get(row.status, "") if row else "",
            "status_label": row.get_status_display() if row else "Not connected",
            "form": form or self.form(row, organization),
            "result": (
                request.session.get(SESSION_RESULT.format(provider=self.identifier))
                if connected
                else None
            ),
            "fix": self.fix_permissions,
            "webhook_url": self.webhook_url(row),
            "events": self.webhook_events,
        }

    # -- handlers --------------------------------------------------------------------------

    def save(self, request, page):
        organization = request.organization
        form = self.form(self.own(organization), organization, request.POST)
        if not form.is_valid():
            return page.render(request, forms={self.identifier: form})
        self.tested(request, self.save_form(form))
        return self.back(page)

    def test(self, request, page):
        row = self.own(request.organization)
        if not self.connected(row):
            messages.error(request, f"Connect {self.label} first.")
            return self.back(page, anchor="")
        self.tested(request, row)
        return self.back(page)

    def disconnect(self, request, page):
        row = self.own(request.organization)
        if row is not None:
            # Forget the credentials: a disconnected integration keeps no secret of the
            # customer's.
            for name, value in self.forget_on_disconnect.items():
                setattr(row, name, value)
            row.status = ConnectionStatus.DISCONNECTED
            row.last_error = ""
            row.save()
            request.session.pop(SESSION_RESULT.format(provider=self.identifier), None)
            messages.success(request, self.disconnected_message)
        return self.back(page, anchor="")

    def tested(self, request, row) -> ConnectionTestResult:
        """Test ``row``, keep the checklist for the card and say how it went."""
        result = connection_test(row)
        request.session[SESSION_RESULT.format(provider=self.identifier)] = {
            "ok": result.ok,
            "error": result.error,
            "checks": [
                {
                    "label": c.label,
                    "name": c.name,
                    "resource": c.resource,
                    "ok": c.ok,
                    "detail": c.detail,
                }
                for c in result.checks
            ],
            "missing": len(result.missing),
            "unknown": sum(1 for c in result.checks if c.ok is None),
        }
        name = self.label
        if result.ok:
            messages.success(request, f"{name} is connected: every permission checked out.")
        elif result.missing:
            messages.error(
                request,
                f"{name} answered, but {len(result.missing)} permission"
                f"{'s are' if len(result.missing) != 1 else ' is'} missing. See the checklist "
                "below.",
            )
        else:
            messages.error(request, f"{name} could not be reached: {result.error}")
        return result
