"""Cronofy settings per organization and calendar connections per person.

Placed on a parent organization, the settings apply to its sub-accounts unless a sub-account
has its own (``integrations.cronofy.connections.cronofy_settings_for``). Secrets and tokens are
encrypted at rest; the UI shows at most their last four characters.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from recruitflow.fields import EncryptedTextField
from recruitflow.tenancy import TenantModel


class DataCenter(models.TextChoices):
    US = "us", "United States (api.cronofy.com)"
    UK = "uk", "United Kingdom (api-uk.cronofy.com)"
    DE = "de", "Germany (api-de.cronofy.com)"
    AU = "au", "Australia (api-au.cronofy.com)"
    CA = "ca", "Canada (api-ca.cronofy.com)"
    SG = "sg", "Singapore (api-sg.cronofy.com)"


class CronofySettings(TenantModel):
    """The organization's Cronofy application, and its Enterprise Connect service account."""

    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField(help_text="Also the key Cronofy signs notifications with.")
    previous_client_secret = EncryptedTextField(
        blank=True,
        help_text=(
            "While you rotate the client secret in Cronofy, keep the old one here: "
            "notifications signed with either are accepted. Clear it when the rotation is done."
        ),
    )
    data_center = models.CharField(
        max_length=2,
        choices=DataCenter.choices,
        default=DataCenter.US,
        help_text="Where the Cronofy application lives (the SDK identifier on its dashboard).",
    )
    api_base_url = models.URLField(
        blank=True, help_text="Leave empty: the data center decides. Set only for the sandbox."
    )
    app_base_url = models.URLField(
        blank=True, help_text="Leave empty: the data center decides. Set only for the sandbox."
    )
    # Enterprise Connect: an administrator authorized a service account for the domain, so
    # people's calendars can be connected by e-mail without each of them signing in.
    service_account_email = models.EmailField(
        blank=True, help_text="The administrator who authorized Enterprise Connect."
    )
    service_account_id = models.CharField(max_length=100, blank=True)
    service_account_access_token = EncryptedTextField(blank=True)
    service_account_refresh_token = EncryptedTextField(blank=True)
    service_account_expires_at = models.DateTimeField(null=True, blank=True)
    service_account_scope = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Cronofy settings"
        verbose_name_plural = "Cronofy settings"
        constraints = [models.UniqueConstraint(fields=["organization"], name="one_cronofy_per_org")]

    def __str__(self) -> str:
        return (
            f"Cronofy {self.client_id} ({self.data_center}) for organization {self.organization_id}"
        )

    def provider_config(self) -> dict:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "previous_client_secret": self.previous_client_secret,
            "data_center": self.data_center,
            "api_base_url": self.api_base_url,
            "app_base_url": self.app_base_url,
        }

    @property
    def enterprise_connected(self) -> bool:
        return bool(self.service_account_id and self.service_account_refresh_token)


class CalendarConnectionStatus(models.TextChoices):
    PENDING = "pending", "Waiting for authorization"
    CONNECTED = "connected", "Connected"
    ERROR = "error", "Needs attention"
    DISCONNECTED = "disconnected", "Disconnected"


class AuthMethod(models.TextChoices):
    OAUTH = "oauth", "Connected by the person"
    ENTERPRISE_CONNECT = "enterprise_connect", "Connected by the organization (Enterprise Connect)"


class CalendarConnection(TenantModel):
    """One person's Cronofy calendar account within an organization."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    auth_method = models.CharField(
        max_length=20, choices=AuthMethod.choices, default=AuthMethod.OAUTH
    )
    email = models.EmailField(blank=True, help_text="The calendar account's e-mail address.")
    data_center = models.CharField(max_length=2, choices=DataCenter.choices, default=DataCenter.US)
    sub = models.CharField(max_length=100, blank=True, help_text="Cronofy's account id (acc_…).")
    profile_id = models.CharField(max_length=100, blank=True)
    profile_name = models.CharField(max_length=200, blank=True)
    provider_name = models.CharField(
        max_length=50, blank=True, help_text="The calendar service, e.g. google or office365."
    )
    calendar_id = models.CharField(
        max_length=200, blank=True, help_text="The calendar our interview events go into."
    )
    calendar_name = models.CharField(max_length=200, blank=True)
    tzid = models.CharField(max_length=64, default="Etc/UTC")
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(max_length=500, blank=True)
    channel_id = models.CharField(
        max_length=100, blank=True, help_text="The push-notification channel for this calendar."
    )
    status = models.CharField(
        max_length=20,
        choices=CalendarConnectionStatus.choices,
        default=CalendarConnectionStatus.PENDING,
    )
    last_error = models.TextField(blank=True)
    # Routes an Enterprise Connect result (a callback carrying this state) to its connection.
    authorization_state = models.CharField(max_length=64, blank=True, db_index=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="one_calendar_connection_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"Calendar of {self.email or self.user_id} ({self.get_status_display()})"

    @property
    def connected(self) -> bool:
        return self.status == CalendarConnectionStatus.CONNECTED
