"""From stored Cronofy settings and connections to a working adapter, and the writes that
connect, refresh and disconnect a person's calendar.

Every function runs inside the organization's scope and records the Cronofy calls it made as
``ProviderCall`` rows. Tokens are refreshed under a row lock: Cronofy may rotate the refresh
token, and when two workers refresh at once the second must use the first one's result rather
than spend a refresh token that no longer works.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from integrations.calendars import CalendarAccount, Channel, OAuthTokens
from integrations.connections import CallRecorder
from integrations.cronofy.models import (
    AuthMethod,
    CalendarConnection,
    CalendarConnectionStatus,
    CronofySettings,
)
from integrations.cronofy.provider import REFRESH_MARGIN, CronofyProvider
from integrations.cronofy.webhooks import ServiceAccountAuthorization
from integrations.http import AuthError, ProviderError
from recruitflow.tenancy import scopes_disabled

PROVIDER = "cronofy"


class CronofyNotConfigured(Exception):
    """Cronofy (or its Enterprise Connect part) is not set up; the message says where to fix it."""


def cronofy_settings_for(organization) -> CronofySettings | None:
    """The organization's Cronofy settings, else the nearest ancestor's (the account tree)."""
    with scopes_disabled():  # ancestors' rows: a deliberate walk up this organization's tree
        for node in organization.ancestors():
            row = CronofySettings.objects.filter(organization_id=node.pk).first()
            if row is not None:
                return row
    return None


def provider_for(
    organization, *, recorder: CallRecorder | None = None, **kwargs
) -> CronofyProvider:
    row = cronofy_settings_for(organization)
    if row is None:
        raise CronofyNotConfigured(
            "Cronofy is not set up: add the application's client ID, client secret and data "
            "center in Settings → Calendars."
        )
    if recorder is not None:
        kwargs["on_call"] = recorder
    return CronofyProvider(row.provider_config(), **kwargs)


def _recorder(organization) -> CallRecorder:
    return CallRecorder(organization=organization, provider=PROVIDER)


# --------------------------------------------------------------------------------------------
# Accounts and locked refreshes
# --------------------------------------------------------------------------------------------


def calendar_account(connection: CalendarConnection) -> CalendarAccount:
    return CalendarAccount(
        label=connection.email or f"user {connection.user_id}",
        access_token=connection.access_token,
        refresh_token=connection.refresh_token,
        expires_at=connection.token_expires_at,
        calendar_id=connection.calendar_id,
        sub=connection.sub,
        tzid=connection.tzid or "Etc/UTC",
    )


def _locked_refresher(
    provider: CronofyProvider,
    load: Callable[[], object],
    fields: tuple[str, str, str],
    on_failure: Callable[[str], None] | None = None,
) -> Callable[[CalendarAccount], None]:
    """A ``token_refresher`` that refreshes the tokens kept in ``fields`` (access, refresh,
    expiry) of the row ``load()`` returns, under ``select_for_update``."""
    access_field, refresh_field, expiry_field = fields

    def refresh(account: CalendarAccount) -> None:
        failure = None
        with transaction.atomic():
            row = load()
            stored_access = getattr(row, access_field)
            stored_expiry = getattr(row, expiry_field)
            fresh = stored_expiry is not None and stored_expiry - REFRESH_MARGIN > timezone.now()
            if stored_access and stored_access != account.access_token and fresh:
                # Another worker refreshed while we waited for the lock: use its tokens.
                account.access_token = stored_access
                account.refresh_token = getattr(row, refresh_field)
                account.expires_at = stored_expiry
                return
            try:
                tokens = provider.refresh(getattr(row, refresh_field))
            except AuthError as exc:
                failure = str(provider.reconnect_error(account, exc))
            else:
                setattr(row, access_field, tokens.access_token)
                setattr(row, refresh_field, tokens.refresh_token or getattr(row, refresh_field))
                setattr(row, expiry_field, tokens.expires_at)
                row.save(update_fields=[access_field, refresh_field, expiry_field, "updated_at"])
                account.access_token = getattr(row, access_field)
                account.refresh_token = getattr(row, refresh_field)
                account.expires_at = tokens.expires_at
        if failure is not None:
            if on_failure is not None:
                on_failure(failure)
            raise AuthError(failure)

    return refresh


def connection_provider(
    connection: CalendarConnection, *, recorder: CallRecorder | None = None, **kwargs
) -> tuple[CronofyProvider, CalendarAccount]:
    """The adapter and account for a person's connection; refreshed tokens are saved on it and
    a refused refresh marks it "Needs attention"."""

    def mark_broken(message: str) -> None:
        CalendarConnection.objects.filter(pk=connection.pk).update(
            status=CalendarConnectionStatus.ERROR, last_error=message
        )
        connection.status, connection.last_error = CalendarConnectionStatus.ERROR, message

    provider = provider_for(connection.organization, recorder=recorder, **kwargs)
    provider.token_refresher = _locked_refresher(
        provider,
        lambda: CalendarConnection.objects.select_for_update().get(pk=connection.pk),
        ("access_token", "refresh_token", "token_expires_at"),
        on_failure=mark_broken,
    )
    return provider, calendar_account(connection)


def service_account(settings_row: CronofySettings, provider: CronofyProvider) -> CalendarAccount:
    """The organization's Enterprise Connect service account (tokens refreshed under lock)."""
    if not settings_row.enterprise_connected:
        raise CronofyNotConfigured(
            "Enterprise Connect is not authorized: an administrator of the calendar domain "
            "must authorize it first in Settings → Calendars."
        )
    provider.token_refresher = _locked_refresher(
        provider,
        lambda: CronofySettings.objects.select_for_update().get(pk=settings_row.pk),
        (
            "service_account_access_token",
            "service_account_refresh_token",
            "service_account_expires_at",
        ),
    )
    return CalendarAccount(
        label=settings_row.service_account_email or "the Enterprise Connect service account",
        access_token=settings_row.service_account_access_token,
        refresh_token=settings_row.service_account_refresh_token,
        expires_at=settings_row.service_account_expires_at,
        sub=settings_row.service_account_id,
    )


# --------------------------------------------------------------------------------------------
# Connecting a person
# --------------------------------------------------------------------------------------------


def _store_tokens(
    connection: CalendarConnection, provider: CronofyProvider, tokens: OAuthTokens
) -> CalendarConnection:
    """Fill the connection from fresh tokens and the account's profile (calendar, zone)."""
    connection.access_token = tokens.access_token
    connection.refresh_token = tokens.refresh_token
    connection.token_expires_at = tokens.expires_at
    connection.scope = tokens.scope
    connection.sub = tokens.sub
    connection.profile_id = tokens.profile_id
    connection.profile_name = tokens.profile_name
    connection.provider_name = tokens.provider_name
    profile = provider.account_profile(calendar_account(connection))
    connection.email = profile.email or connection.email or tokens.profile_name
    connection.tzid = profile.tzid or connection.tzid or "Etc/UTC"
    calendar = profile.default_calendar()
    connection.authorization_state = ""
    if calendar is None:
        connection.status = CalendarConnectionStatus.ERROR
        connection.last_error = (
            "The calendar account has no calendar we may add events to. Connect an account "
            "with a writable calendar."
        )
    else:
        connection.calendar_id = calendar.calendar_id
        connection.calendar_name = calendar.name
        connection.status = CalendarConnectionStatus.CONNECTED
        connection.last_error = ""
        connection.connected_at = timezone.now()
    connection.save()
    return connection


def _connection_for(organization, user) -> CalendarConnection:
    connection = CalendarConnection.objects.filter(user=user).first()
    return connection or CalendarConnection(organization=organization, user=user)


def connection_complete_oauth(
    *, organization, user, code: str, redirect_uri: str
) -> CalendarConnection:
    """Finish a person's OAuth connection: redeem the code, read their calendars, store."""
    recorder = _recorder(organization)
    try:
        provider = provider_for(organization, recorder=recorder)
        tokens = provider.exchange_code(code=code, redirect_uri=redirect_uri)
        connection = _connection_for(organization, user)
        connection.auth_method = AuthMethod.OAUTH
        connection.data_center = provider.client.data_center
        return _store_tokens(connection, provider, tokens)
    finally:
        recorder.flush()


def enterprise_connect_complete(
    *, organization, code: str, redirect_uri: str, admin_email: str = ""
) -> CronofySettings:
    """Store the service account an administrator authorized (Enterprise Connect)."""
    row = cronofy_settings_for(organization)
    if row is None or row.organization_id != organization.pk:
        raise CronofyNotConfigured(
            "Add this organization's own Cronofy settings before authorizing Enterprise Connect."
        )
    recorder = _recorder(organization)
    try:
        tokens = provider_for(organization, recorder=recorder).exchange_code(
            code=code, redirect_uri=redirect_uri
        )
    finally:
        recorder.flush()
    if not tokens.service_account_id:
        raise ProviderError(
            "Cronofy answered with a person's authorization, not a service account's: start "
            "Enterprise Connect from its own button, not the personal calendar connection."
        )
    row.service_account_id = tokens.service_account_id
    row.service_account_access_token = tokens.access_token
    row.service_account_refresh_token = tokens.refresh_token
    row.service_account_expires_at = tokens.expires_at
    row.service_account_scope = tokens.scope
    row.service_account_email = admin_email
    row.save()
    return row


def connection_request_enterprise_connect(
    *, organization, user, email: str, callback_url: str
) -> CalendarConnection:
    """Ask Cronofy to connect ``email``'s calendar through the service account. The connection
    waits ("Waiting for authorization") until the signed result reaches ``callback_url``."""
    row = cronofy_settings_for(organization)
    if row is None:
        raise CronofyNotConfigured("Cronofy is not set up: add it in Settings → Calendars.")
    recorder = _recorder(organization)
    provider = provider_for(organization, recorder=recorder)
    account = service_account(row, provider)
    connection = _connection_for(organization, user)
    connection.auth_method = AuthMethod.ENTERPRISE_CONNECT
    connection.email = email
    connection.data_center = row.data_center
    connection.status = CalendarConnectionStatus.PENDING
    connection.last_error = ""
    connection.authorization_state = secrets.token_urlsafe(24)
    connection.save()
    try:
        provider.authorize_with_service_account(
            account, email=email, callback_url=callback_url, state=connection.authorization_state
        )
    except ProviderError as exc:
        connection.status = CalendarConnectionStatus.ERROR
        connection.last_error = str(exc)
        connection.save(update_fields=["status", "last_error", "updated_at"])
        raise
    finally:
        recorder.flush()
    return connection


def connection_complete_enterprise_connect(
    *, organization, result: ServiceAccountAuthorization, callback_url: str
) -> CalendarConnection | None:
    """Apply a (verified) Enterprise Connect result; None when no connection awaits its state."""
    connection = CalendarConnection.objects.filter(
        authorization_state=result.state, status=CalendarConnectionStatus.PENDING
    ).first()
    if connection is None or not result.state:
        return None
    if not result.ok:
        connection.status = CalendarConnectionStatus.ERROR
        connection.last_error = result.reason
        connection.authorization_state = ""
        connection.save(update_fields=["status", "last_error", "authorization_state", "updated_at"])
        return connection
    recorder = _recorder(organization)
    try:
        provider = provider_for(organization, recorder=recorder)
        tokens = provider.exchange_code(code=result.code, redirect_uri=callback_url)
        return _store_tokens(connection, provider, tokens)
    except ProviderError as exc:
        connection.status = CalendarConnectionStatus.ERROR
        connection.last_error = str(exc)
        connection.save(update_fields=["status", "last_error", "updated_at"])
        raise
    finally:
        recorder.flush()


# --------------------------------------------------------------------------------------------
# Keeping a connection useful, and ending it
# --------------------------------------------------------------------------------------------


def connection_ensure_channel(connection: CalendarConnection, *, callback_url: str) -> Channel:
    """A push channel from the person's calendar to ``callback_url`` (reused when open)."""
    recorder = _recorder(connection.organization)
    try:
        provider, account = connection_provider(connection, recorder=recorder)
        for channel in provider.list_channels(account):
            if channel.channel_id == connection.channel_id or channel.callback_url == callback_url:
                if connection.channel_id != channel.channel_id:
                    connection.channel_id = channel.channel_id
                    connection.save(update_fields=["channel_id", "updated_at"])
                return channel
        channel = provider.create_channel(account, callback_url)
        connection.channel_id = channel.channel_id
        connection.save(update_fields=["channel_id", "updated_at"])
        return channel
    finally:
        recorder.flush()


def connection_disconnect(connection: CalendarConnection) -> CalendarConnection:
    """Close the channel, withdraw our access at Cronofy and forget the tokens. Cronofy being
    unreachable does not keep the connection alive: the tokens are forgotten regardless."""
    recorder = _recorder(connection.organization)
    problem = ""
    try:
        if connection.access_token:
            provider, account = connection_provider(connection, recorder=recorder)
            try:
                if connection.channel_id:
                    provider.close_channel(account, connection.channel_id)
                provider.revoke(account)
            except ProviderError as exc:
                problem = f"Cronofy was not told ({exc}); the access was removed here anyway."
    finally:
        recorder.flush()
    connection.access_token = ""
    connection.refresh_token = ""
    connection.token_expires_at = None
    connection.channel_id = ""
    connection.status = CalendarConnectionStatus.DISCONNECTED
    connection.last_error = problem
    connection.save()
    return connection
