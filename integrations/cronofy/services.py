"""Writes behind Cronofy's card on Settings → Calendars: the organization's own Cronofy
application (client ID, secrets with rotation, data center), its credentials check and
Enterprise Connect. Keyword-only; problems are ValidationErrors written for the admin."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.cronofy import connections
from integrations.cronofy.models import CronofySettings, DataCenter
from integrations.http import ProviderError

CREDENTIALS_CHECK_CODE = "recruitflow-credentials-check"


def own_cronofy_settings(organization) -> CronofySettings | None:
    return CronofySettings.objects.filter(organization=organization).first()


@transaction.atomic
def cronofy_settings_save(
    *,
    organization,
    client_id: str,
    client_secret: str,
    previous_client_secret: str,
    data_center: str,
    api_base_url: str = "",
    app_base_url: str = "",
) -> CronofySettings:
    """Create or update the organization's own Cronofy application settings."""
    problems = {}
    if not client_id.strip():
        problems["client_id"] = "Paste the client ID from the Cronofy developer dashboard."
    if not client_secret.strip():
        problems["client_secret"] = "Paste the client secret from the Cronofy developer dashboard."
    if data_center not in DataCenter.values:
        problems["data_center"] = (
            f"{data_center!r} is not a Cronofy data center: choose one of "
            f"{', '.join(DataCenter.values)}."
        )
    if problems:
        raise ValidationError(problems)
    row = own_cronofy_settings(organization) or CronofySettings(organization=organization)
    if row.pk and (
        row.client_id != client_id.strip()
        or (row.data_center, row.api_base_url) != (data_center, api_base_url.strip())
    ):
        # Another Cronofy application, or another address: the service account's tokens are
        # never sent anywhere but where they were issued.
        row.service_account_id = ""
        row.service_account_access_token = ""
        row.service_account_refresh_token = ""
        row.service_account_expires_at = None
        row.service_account_scope = ""
        row.service_account_email = ""
    row.client_id = client_id.strip()
    row.client_secret = client_secret.strip()
    row.previous_client_secret = previous_client_secret.strip()
    row.data_center = data_center
    row.api_base_url = api_base_url.strip()
    row.app_base_url = app_base_url.strip()
    row.full_clean(exclude=["organization"])
    row.save()
    return row


@transaction.atomic
def cronofy_settings_delete(*, organization) -> bool:
    """Forget the organization's own Cronofy settings (its sub-accounts fall back up the tree).
    People's connections stay stored but cannot be used until settings exist again."""
    row = own_cronofy_settings(organization)
    if row is None:
        return False
    row.delete()
    return True


def cronofy_credentials_check(*, organization, redirect_uri: str) -> tuple[bool, str]:
    """Ask Cronofy to redeem a code that cannot exist: "invalid_grant" proves the client ID and
    secret are right (Cronofy checks the client first), "invalid_client" that they are not."""
    try:
        provider = connections.provider_for(organization)
        provider.exchange_code(code=CREDENTIALS_CHECK_CODE, redirect_uri=redirect_uri)
    except connections.CronofyNotConfigured as exc:
        return False, str(exc)
    except ProviderError as exc:
        if exc.code == "invalid_grant":
            return True, "Cronofy accepted the client ID and client secret."
        return False, str(exc)
    except ValueError as exc:
        return False, str(exc)
    return True, "Cronofy accepted the client ID and client secret."


def enterprise_connect_url(*, organization, redirect_uri: str, state: str) -> str:
    """Where an administrator of the calendar domain authorizes Enterprise Connect."""
    row = own_cronofy_settings(organization)
    if row is None:
        raise connections.CronofyNotConfigured(
            "Save this organization's own Cronofy settings before authorizing Enterprise Connect."
        )
    provider = connections.provider_for(organization)
    return provider.enterprise_connect_url(redirect_uri=redirect_uri, state=state)


def enterprise_connect_finish(
    *, organization, code: str, redirect_uri: str, admin_email: str
) -> CronofySettings:
    return connections.enterprise_connect_complete(
        organization=organization, code=code, redirect_uri=redirect_uri, admin_email=admin_email
    )


@transaction.atomic
def enterprise_connect_forget(*, organization) -> CronofySettings | None:
    """Stop using the Enterprise Connect service account (people already connected stay)."""
    row = own_cronofy_settings(organization)
    if row is None:
        return None
    row.service_account_id = ""
    row.service_account_access_token = ""
    row.service_account_refresh_token = ""
    row.service_account_expires_at = None
    row.service_account_scope = ""
    row.service_account_email = ""
    row.save()
    return row
