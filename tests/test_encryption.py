"""Provider secrets are stored encrypted, and key rotation keeps them readable."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from integrations.greenhouse.models import GreenhouseConnection
from recruitflow.fields import _fernet_for, mask_secret
from recruitflow.tenancy import tenant_scope


def _raw_column(pk, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM greenhouse_greenhouseconnection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def stored_connection(alice):
    with tenant_scope(alice.organization):
        return GreenhouseConnection.objects.create(
            organization=alice.organization,
            base_url="https://harvest.greenhouse.io",
            api_version="v1",
            api_key="harvest-secret-key-1234",
            client_secret="client-secret-5678",
        )


@pytest.mark.django_db
def test_database_holds_ciphertext_when_a_secret_is_saved(stored_connection):
    raw = _raw_column(stored_connection.pk, "api_key")
    assert "harvest-secret-key-1234" not in raw
    assert raw.startswith("fernet:")
    with tenant_scope(stored_connection.organization):
        reloaded = GreenhouseConnection.objects.get(pk=stored_connection.pk)
    assert reloaded.api_key == "harvest-secret-key-1234"
    assert reloaded.client_secret == "client-secret-5678"


@pytest.mark.django_db
def test_values_stay_readable_when_keys_are_rotated(stored_connection, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    before = _raw_column(stored_connection.pk, "api_key")

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    _fernet_for.cache_clear()
    call_command("rotate_encryption_keys", verbosity=0)
    after = _raw_column(stored_connection.pk, "api_key")
    assert after != before

    # The old key can now be dropped: everything decrypts with the new key alone.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    _fernet_for.cache_clear()
    with tenant_scope(stored_connection.organization):
        reloaded = GreenhouseConnection.objects.get(pk=stored_connection.pk)
    assert reloaded.api_key == "harvest-secret-key-1234"
    assert reloaded.client_secret == "client-secret-5678"
    _fernet_for.cache_clear()


@pytest.mark.django_db
def test_secret_is_unreadable_without_its_key(stored_connection, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    _fernet_for.cache_clear()
    with tenant_scope(stored_connection.organization), pytest.raises(ImproperlyConfigured) as exc:
        GreenhouseConnection.objects.get(pk=stored_connection.pk)
    assert "rotate_encryption_keys" in str(exc.value)
    _fernet_for.cache_clear()


def test_ui_shows_at_most_the_last_four_characters_of_a_secret():
    assert mask_secret("harvest-secret-key-1234") == "••••1234"
    assert mask_secret("short") == "••••"
