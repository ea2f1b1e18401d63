from django.urls import path

from integrations.calendar_service import IDENTIFIER as CALENDAR

from . import views

app_name = "scheduling"
urlpatterns = [
    path("", views.schedule, name="schedule"),
    path("bookings/<int:pk>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("team/connect-by-email/", views.connect_by_email, name="connect_by_email"),
    path("calendar/", views.my_calendar, name="calendar"),
    path("calendar/hours/", views.working_hours_save, name="working_hours"),
    path("calendar/busy/", views.busy_block_add, name="busy_add"),
    path("calendar/busy/<int:pk>/delete/", views.busy_block_delete, name="busy_delete"),
    path("calendar/feed/reset/", views.feed_reset, name="feed_reset"),
    path("calendar/meeting-link/", views.personal_link_save, name="personal_link"),
    path(
        "calendar/conferencing/reconnected/",
        views.conferencing_reconnected,
        name="conferencing_reconnected",
    ),
    # My calendar's connect/callback addresses carry the calendar vendor's identifier: the callback
    # is registered at the vendor as a redirect URI.
    path(f"calendar/{CALENDAR}/connect/", views.cronofy_connect, name="cronofy_connect"),
    path(f"calendar/{CALENDAR}/callback/", views.cronofy_callback, name="cronofy_callback"),
    path(f"calendar/{CALENDAR}/disconnect/", views.cronofy_disconnect, name="cronofy_disconnect"),
]
