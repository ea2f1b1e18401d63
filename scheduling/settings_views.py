"""Settings → Calendars: how the organization reaches its team's calendars. Each calendar
vendor's card (settings, inheritance up the account tree, its own actions) is its own
(``integrations/<vendor>/screen.py``, drawn by ``templates/integrations/<vendor>/settings.html``):
this page loops over the ``calendar`` screens and names no vendor."""

from __future__ import annotations

from candidates.views import render_in_org_time
from integrations.screens import screens_for
from recruitflow.decorators import admin_required


class CalendarsPage:
    """Settings → Calendars, as the calendar vendor screens see it."""

    capabilities = ("calendar",)
    url_name = "calendar_settings:index"

    def render(self, request, *, forms=None, status=200):
        return _render(request, forms=forms or {}, status=status)

    def card(self, request, screen) -> dict:
        return {}


PAGE = CalendarsPage()


def _render(request, *, forms: dict, status: int = 200):
    context = {
        "tab": "calendars",
        "calendar_service": " or ".join(screen.label for screen in screens_for("calendar")),
        "cards": [
            screen.card(request, PAGE, form=forms.get(screen.identifier))
            for screen in screens_for("calendar")
        ],
    }
    return render_in_org_time(request, "scheduling/settings_calendars.html", context, status=status)


@admin_required
def index(request):
    return _render(request, forms={})
