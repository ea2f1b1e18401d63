"""Provider secrets encrypted at rest.

`EncryptedTextField` stores Fernet tokens made with `FIELD_ENCRYPTION_KEYS` (a list: the first key
encrypts, every key decrypts), never with SECRET_KEY, so the two rotate independently. Rotation:
put a new key first in the list, run `manage.py rotate_encryption_keys`, then drop the old key.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

TOKEN_PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be a comma-separated list of Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return TOKEN_PREFIX + fernet().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(TOKEN_PREFIX):
        raise ImproperlyConfigured("An encrypted column holds a value that is not a Fernet token.")
    try:
        return fernet().decrypt(stored[len(TOKEN_PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS. "
            "Was a key removed before `manage.py rotate_encryption_keys` ran?"
        ) from exc


def rotate(stored: str) -> str:
    return TOKEN_PREFIX + fernet().rotate(stored[len(TOKEN_PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column whose database value is a Fernet token; Python sees the plain text.

    Encrypted columns cannot be filtered or ordered on. Empty strings are stored as empty strings
    so "not configured" stays cheap to test.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def to_python(self, value):
        return value


def mask_secret(value: str) -> str:
    """What the UI may show of a stored secret: its last four characters at most."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) > 8 else "••••"
