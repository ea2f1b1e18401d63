"""Where recordings live: the ``recordings`` storage of ``settings.STORAGES``.

``RECORDINGS_STORAGE`` chooses it (``recruitflow/settings.py``): ``filesystem`` (the default)
keeps the files under ``MEDIA_ROOT/recordings`` with no base URL, so nothing serves them except
the signed streaming view of ``interviews.playback``; ``s3`` keeps them in a private bucket of
any S3-compatible store through django-storages, played through presigned URLs that expire.

The model's file fields call :func:`recordings_storage` once, when the model class is built. It
returns a proxy that finds the configured storage when first used, and again after a test
changes ``STORAGES`` (as Django's ``default_storage`` does), so the fields always write to the
storage the settings name.
"""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

ALIAS = "recordings"


class _RecordingsStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = storages[ALIAS]


_recordings = _RecordingsStorage()


def recordings_storage() -> Storage:
    """The storage of video interview recordings (a proxy of ``storages["recordings"]``)."""
    return _recordings  # type: ignore[return-value]


def is_filesystem(storage: Storage | None = None) -> bool:
    """Whether recordings are files on this machine (played through the streaming view) rather
    than objects of a bucket (played through presigned URLs)."""
    return isinstance(storage if storage is not None else _recordings, FileSystemStorage)


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs) -> None:
    # Django's own receiver (django.test.signals) forgets the storages it built; forget ours.
    if setting == "STORAGES":
        _recordings._wrapped = empty  # type: ignore[assignment]
