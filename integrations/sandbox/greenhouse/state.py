"""All mutable state of the fake Greenhouse: the company, credentials, limits, faults, records."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

from integrations.sandbox._common import Faults, WebhookDispatcher, WindowLimiter
from integrations.sandbox.atsdata import Company, generate_company
from integrations.sandbox.greenhouse.contract import (
    ALL_V1_PERMISSIONS,
    DEFAULT_V1_KEY,
    DEFAULT_V3_CLIENT_ID,
    DEFAULT_V3_CLIENT_SECRET,
    LIMITED_V1_KEY,
    NOT_FOUND,
    ApiError,
)
from integrations.sandbox.greenhouse.mutations import MutationsMixin
from integrations.sandbox.greenhouse.render import RenderMixin
from integrations.sandbox.greenhouse.webhooks import WebhooksMixin


class GreenhouseState(WebhooksMixin, RenderMixin, MutationsMixin):
    """All mutable state of the fake, plus the operations tests and the control API use.

    Public mutators (each records a write, fires webhooks, and persists when configured):
    :meth:`move_application`, :meth:`reject_application`, :meth:`unreject_application`,
    :meth:`hire_application`, :meth:`create_candidate`, :meth:`add_note`, :meth:`add_email`,
    :meth:`patch_candidate`, :meth:`add_attachment`, :meth:`set_custom_field_active`.  Configuration: :meth:`add_v1_key`,
    :meth:`add_v3_client`, :meth:`set_rate_limit`, :meth:`configure_webhook`,
    :meth:`inject_fault`, :meth:`reset`.  Records: :attr:`writes`, :attr:`deliveries`.
    """

    def __init__(
        self,
        company_factory: Callable[[], Company] | None = None,
        rate_limit: int | None = 50,
        legacy_epoch_retry_after: bool = False,
        v3_rate_limit: int | None = 300,
        token_lifetime: float = 3600,
        retry_delays: list[float] | None = None,
        retry_scale: float = 1 / 60,
        on_change: Callable[[], None] | None = None,
        credentials: dict | None = None,
        title: str = "Sandbox Greenhouse",
    ):
        # ``credentials`` (``api_key``, ``client_id``, ``client_secret``): a company of its own
        # (see ``companies.py``) accepts only these; None gives the default company's.
        self.credentials = credentials
        self.title = title
        self.company_factory = company_factory or generate_company
        self.lock = threading.RLock()
        self.limiter = WindowLimiter(rate_limit, 10.0)
        self.legacy_epoch_retry_after = legacy_epoch_retry_after
        # Seconds the epoch headers (X-RateLimit-Reset, legacy Retry-After) lag the real reset:
        # Greenhouse rounds epochs to the second and clocks differ, so one can have passed
        # when it arrives while the window is still closed.
        self.legacy_epoch_lag = 0.0
        self.v3_limiter = WindowLimiter(v3_rate_limit, 30.0)
        self.token_lifetime = token_lifetime
        self.faults = Faults()
        self.on_change = on_change
        self.writes: list[dict] = []
        self.deliveries: list[dict] = []
        self.dispatcher = WebhookDispatcher(
            self.deliveries,
            retry_delays if retry_delays is not None else [60, 900, 3600, 7200, 14400, 28800],
            retry_scale,
            is_success=lambda code: code == 200,
            user_agent="Greenhouse-Webhooks/1.0 (sandbox)",
        )
        self.webhook: dict = {"id": 1, "url": None, "secret": None, "enabled": False}
        self.v1_keys: dict[str, set[str] | None] = {}
        self.v3_clients: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self._token_secret = secrets.token_bytes(16)
        self._replaying = False
        self._install_defaults()
        self._load_company()

    # setup ---------------------------------------------------------------------------------------
    def _install_defaults(self) -> None:
        if self.credentials is not None:
            self.v1_keys = {self.credentials["api_key"]: None}
            self.v3_clients = {
                self.credentials["client_id"]: {
                    "secret": self.credentials["client_secret"],
                    "scopes": None,
                }
            }
            return
        self.v1_keys = {
            DEFAULT_V1_KEY: None,
            LIMITED_V1_KEY: {
                p.lower()
                for p in ALL_V1_PERMISSIONS
                if p not in ("GET: List Applications", "POST: Add Note")
            },
        }
        self.v3_clients = {
            DEFAULT_V3_CLIENT_ID: {"secret": DEFAULT_V3_CLIENT_SECRET, "scopes": None}
        }

    def _load_company(self) -> None:
        with self.lock:
            self.co = self.company_factory()
            self.version = 0
            self._cache: dict = {}
            self._apps_sorted: list[int] = sorted(self.co.applications)
            self._cands_sorted: list[int] = sorted(self.co.candidates)
            # attachment id -> the bytes received as base64 ``content``
            self.attachment_blobs: dict[int, bytes] = {}

    def reset(self) -> None:
        """Regenerate the company and forget writes, deliveries, faults and extra credentials."""
        with self.lock:
            self.dispatcher.cancel_all()
            self.writes.clear()
            self.deliveries.clear()
            self.faults.clear()
            self.tokens.clear()
            self.limiter.reset()
            self.v3_limiter.reset()
            self.legacy_epoch_lag = 0.0
            self.webhook = {"id": 1, "url": None, "secret": None, "enabled": False}
            self._install_defaults()
            self._load_company()
        self._changed()

    def _changed(self) -> None:
        if self.on_change and not self._replaying:
            self.on_change()

    def _bump(self) -> None:
        self.version += 1
        if len(self._cache) > 256:
            self._cache.clear()

    # credentials / configuration -----------------------------------------------------------------
    def add_v1_key(self, key: str, permissions: list[str] | None = None) -> None:
        """Add or replace a v1 API key; ``permissions=None`` grants every endpoint."""
        with self.lock:
            self.v1_keys[key] = None if permissions is None else {p.lower() for p in permissions}

    def add_v3_client(self, client_id: str, client_secret: str, scopes: list[str] | None = None):
        with self.lock:
            self.v3_clients[client_id] = {
                "secret": client_secret,
                "scopes": None if scopes is None else set(scopes),
            }

    def set_rate_limit(
        self,
        limit: int | None = 50,
        legacy_epoch_retry_after: bool | None = None,
        v3_limit: int | None | str = "unchanged",
        legacy_epoch_lag: float | None = None,
    ) -> None:
        """``legacy_epoch_lag`` makes ``X-RateLimit-Reset`` (and the epoch ``Retry-After`` of
        ``legacy_epoch_retry_after``) that many seconds earlier than the real reset, e.g. 10
        for epochs that have already passed when the 429 arrives."""
        self.limiter.limit = limit
        self.limiter.reset()
        if legacy_epoch_retry_after is not None:
            self.legacy_epoch_retry_after = legacy_epoch_retry_after
        if legacy_epoch_lag is not None:
            self.legacy_epoch_lag = float(legacy_epoch_lag)
        if v3_limit != "unchanged":
            self.v3_limiter.limit = v3_limit  # type: ignore[assignment]
            self.v3_limiter.reset()

    def inject_fault(
        self, prefix: str, status: int | None = 500, count: int = 1, delay=0.0, **options
    ):
        """Make the next ``count`` requests under ``prefix`` (e.g. ``/v1/applications``) fail
        with ``status`` (None = no error) after sleeping ``delay`` seconds."""
        return self.faults.add(prefix, status, count, delay, **options)

    # records -------------------------------------------------------------------------------------
    def _record(self, kind: str, args: dict, source: str, at: float) -> dict:
        rec = {"kind": kind, "args": args, "source": source, "at": at}
        self.writes.append(rec)
        return rec

    def replay(self, writes: list[dict]) -> None:
        """Re-apply recorded writes (used when loading a state file); no webhooks fire."""
        self._replaying = True
        try:
            for w in writes:
                fn = getattr(self, w["kind"])
                fn(**w["args"], source=w.get("source", "replay"), at=w.get("at"))
        finally:
            self._replaying = False

    def get_application(self, app_id: int) -> dict:
        app = self.co.applications.get(int(app_id))
        if app is None:
            raise ApiError(404, NOT_FOUND)
        return app

    def get_candidate(self, cand_id: int) -> dict:
        cand = self.co.candidates.get(int(cand_id))
        if cand is None:
            raise ApiError(404, NOT_FOUND)
        return cand

    # queries -------------------------------------------------------------------------------------
    def cached_ids(self, key: tuple, compute: Callable[[], list[int]]) -> list[int]:
        """Filtered, id-sorted lists are cached per state version so paging is O(page)."""
        hit = self._cache.get(key)
        if hit and hit[0] == self.version:
            return hit[1]
        ids = compute()
        self._cache[key] = (self.version, ids)
        return ids
