"""The calendar capability's entry for the domain apps: the calendar vendor's per-person
connection rows, their statuses and the functions that act on them, under vendor-neutral names
(the records they exchange are in :mod:`integrations.calendars`).

Scheduling imports this module, never a vendor's folder. The vendor behind it is the one
calendar vendor this deployment wires; switching vendors changes the imports below, not the
domain."""

from __future__ import annotations

from integrations.cronofy import connections as _vendor
from integrations.cronofy.models import CalendarConnection, CalendarConnectionStatus

# The vendor's identifier: what its call records (``ProviderCall.provider``) and a member
# calendar read through it (``CalendarStatus.kind``) say, and the name of its notification
# endpoint in ``scheduling_webhooks``.
IDENTIFIER: str = _vendor.PROVIDER

# What the calendar service behind a connected profile (its ``provider_name``) is called in the
# UI.
PROFILE_LABELS: dict[str, str] = {
    "google": "Google",
    "office365": "Microsoft 365",
    "exchange": "Exchange",
    "live_connect": "Outlook.com",
    "outlook_com": "Outlook.com",
    "apple": "iCloud",
    "cronofy": "Cronofy",
}

# The service (or its Enterprise Connect part) is not set up; the message says where to fix it.
CalendarNotConfigured = _vendor.CronofyNotConfigured

settings_for = _vendor.cronofy_settings_for  # the organization's settings or nearest ancestor's
provider_for = _vendor.provider_for  # the adapter with the organization's credentials
connection_provider = _vendor.connection_provider  # (adapter, account) of one connection
connection_complete_oauth = _vendor.connection_complete_oauth
connection_request_enterprise_connect = _vendor.connection_request_enterprise_connect
connection_complete_enterprise_connect = _vendor.connection_complete_enterprise_connect
connection_ensure_channel = _vendor.connection_ensure_channel
connection_disconnect = _vendor.connection_disconnect

__all__ = [
    "IDENTIFIER",
    "PROFILE_LABELS",
    "CalendarConnection",
    "CalendarConnectionStatus",
    "CalendarNotConfigured",
    "connection_complete_enterprise_connect",
    "connection_complete_oauth",
    "connection_disconnect",
    "connection_ensure_channel",
    "connection_provider",
    "connection_request_enterprise_connect",
    "provider_for",
    "settings_for",
]
