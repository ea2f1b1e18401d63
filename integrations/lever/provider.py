"""Lever adapter: opportunities, stages, postings, users -> RecruitFlow's normalized records.

Model mapping: a Lever *opportunity* is both the candidate and the application (Lever's
legacy candidate id equals the opportunity id, and notes/files hang off the opportunity), so
``ExtCandidate.external_id == ExtApplication.external_id == opportunity id``. Postings are jobs;
Lever's stages are global (``job_external_id`` None) and every job lists all of them.
Departments and offices come from posting categories: department ``dept:<name>``, team
``team:<department>/<team>`` (child of its department), office ``location:<name>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from integrations.base import (
    Activity,
    ATSProvider,
    ExtApplication,
    ExtCandidate,
    ExtDepartment,
    ExtJob,
    ExtOffice,
    ExtStage,
    ExtUser,
    NotSupported,
    PermissionCheck,
    from_epoch_ms,
    to_epoch_ms,
)
from integrations.http import (
    AuthError,
    NotFound,
    PermissionDenied,
    ProviderError,
    Unreachable,
    ValidationFailed,
)
from integrations.lever import oauth
from integrations.lever.client import DEFAULT_BASE_URL, LeverClient
from integrations.registry import register

# ``ProviderError.code`` of a 404 that shows the configured address is wrong (not a record).
WRONG_ADDRESS = "wrong_address"
OPPORTUNITY_EXPAND = [("expand", "applications"), ("expand", "stage")]
PROBE_OPPORTUNITY_ID = "00000000-0000-0000-0000-000000000000"

# (resource as Lever names it, OAuth scope / API permission, why, probe path or None)
REQUIRED_PERMISSIONS: tuple[tuple[str, str, str, str | None], ...] = (
    ("Opportunities", "opportunities:read:admin", "to sync candidates and their stages",
     "/opportunities"),
    ("Stages", "stages:read:admin", "to offer stages as journey triggers", "/stages"),
    ("Postings", "postings:read:admin", "to sync jobs, teams and locations", "/postings"),
    ("Users", "users:read:admin", "to match owners and hiring managers to your team", "/users"),
    ("Archive reasons", "archive_reasons:read:admin", "to tell hired from rejected candidates",
     "/archive_reasons"),
    ("Notes", "notes:write:admin", "to log journey steps as notes on the candidate",
     f"/opportunities/{PROBE_OPPORTUNITY_ID}/notes"),
    ("Files", "files:write:admin", "to upload SMS transcripts as PDF files",
     f"/opportunities/{PROBE_OPPORTUNITY_ID}/files"),
    ("Notes", "notes:read:admin",
     "to look for a note after an interrupted write, so it is never written twice",
     f"/opportunities/{PROBE_OPPORTUNITY_ID}/notes"),
    ("Files", "files:read:admin",
     "to look for a file after an interrupted upload, so it is never uploaded twice",
     f"/opportunities/{PROBE_OPPORTUNITY_ID}/files"),
)  # fmt: skip
# The write each Lever permission covers: what the write is called in an error.
WRITE_PERMISSIONS = {"notes:write:admin": "write the note", "files:write:admin": "upload the file"}


def _config_value(config: Any, key: str, default: Any = None) -> Any:
    if isinstance(config, Mapping):
        return config.get(key, default)
    return getattr(config, key, default)


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = (name or "").strip().partition(" ")
    return first, last.strip()


def candidate_from_opportunity(data: Mapping[str, Any]) -> ExtCandidate:
    first, last = _split_name(data.get("name") or "")
    emails = [(str(e), None) for e in data.get("emails") or [] if e]
    phones = [
        (str(p["value"]), p.get("type")) if isinstance(p, Mapping) else (str(p), None)
        for p in data.get("phones") or []
        if p and (not isinstance(p, Mapping) or p.get("value"))
    ]
    return ExtCandidate(
        external_id=str(data["id"]),
        first_name=first,
        last_name=last,
        emails=emails,
        phones=phones,
        tags=[str(t) for t in data.get("tags") or []],
        updated_at=from_epoch_ms(data.get("updatedAt")),
    )


def _archive_info(data: Mapping[str, Any]) -> tuple[int | None, str | None]:
    archived = data.get("archived")
    if isinstance(archived, Mapping):
        return archived.get("archivedAt"), archived.get("reason")
    return data.get("archivedAt"), data.get("archiveReason")


def application_from_opportunity(
    data: Mapping[str, Any], archive_reason_types: Mapping[str, str] | None = None
) -> ExtApplication:
    stage = data.get("stage")
    stage_id = stage.get("id") if isinstance(stage, Mapping) else stage
    stage_name = stage.get("text") if isinstance(stage, Mapping) else None
    archived_at, reason = _archive_info(data)
    if archived_at is None and reason is None:
        status = "active"
    else:
        reason_type = (archive_reason_types or {}).get(str(reason)) if reason else None
        if reason_type == "hired":
            status = "hired"
        elif reason_type is not None:
            status = "rejected"
        else:
            status = "archived"
    applications = [a for a in data.get("applications") or [] if isinstance(a, Mapping)]
    application = applications[0] if applications else {}
    posting = application.get("posting")
    if isinstance(posting, Mapping):
        posting = posting.get("id")
    sources = data.get("sources") or []
    return ExtApplication(
        external_id=str(data["id"]),
        candidate_external_id=str(data["id"]),
        job_external_id=str(posting) if posting else None,
        stage_external_id=str(stage_id) if stage_id else None,
        stage_name=stage_name,
        status=status,  # type: ignore[arg-type]
        source_name=sources[0] if sources else data.get("origin"),
        applied_at=from_epoch_ms(application.get("createdAt") or data.get("createdAt")),
        last_activity_at=from_epoch_ms(
            data.get("lastInteractionAt") or data.get("updatedAt") or data.get("createdAt")
        ),
        prospect=not posting,
    )


def department_ids_for(categories: Mapping[str, Any]) -> list[str]:
    department, team = categories.get("department"), categories.get("team")
    ids = []
    if team:
        ids.append(f"team:{department or ''}/{team}")
    if department:
        ids.append(f"dept:{department}")
    return ids


def location_names_for(categories: Mapping[str, Any]) -> list[str]:
    names = list(categories.get("allLocations") or [])
    if categories.get("location") and categories["location"] not in names:
        names.insert(0, categories["location"])
    return [n for n in names if n]


@register("lever")
class LeverProvider(ATSProvider):
    """Lever. ``config``: a dict or object with ``api_key`` or ``access_token`` (+
    ``refresh_token``, ``client_id``, ``client_secret`` for OAuth refresh), ``base_url``,
    ``auth_base`` and ``perform_as`` (the Lever user id notes and files are attributed to).

    ``on_tokens(TokenSet)`` is called after every refresh so the caller persists the rotated
    refresh token. Extra keyword arguments go to :class:`~integrations.http.HttpClient`.
    """

    identifier = "lever"
    display_name = "Lever"
    stages_per_job = False  # one pipeline of stages for the whole account

    def __init__(
        self,
        config: Any,
        *,
        on_tokens: Callable[[oauth.TokenSet], Any] | None = None,
        token_refresher: Callable[[], Any] | None = None,
        **http_kwargs: Any,
    ) -> None:
        self.perform_as = _config_value(config, "perform_as")
        self.refresh_token = _config_value(config, "refresh_token")
        self._config = config
        self._on_tokens = on_tokens
        if token_refresher is None and self.refresh_token and _config_value(config, "client_id"):
            token_refresher = self._refresh_tokens
        self.client = LeverClient(
            api_key=_config_value(config, "api_key"),
            access_token=_config_value(config, "access_token"),
            base_url=_config_value(config, "base_url") or DEFAULT_BASE_URL,
            token_refresher=token_refresher,
            **http_kwargs,
        )
        self._archive_reason_types: dict[str, str] | None = None
        self._stages: list[ExtStage] | None = None

    @property
    def uses_oauth(self) -> bool:
        return not _config_value(self._config, "api_key")

    def _refresh_tokens(self) -> oauth.TokenSet:
        auth_base = _config_value(self._config, "auth_base") or oauth.DEFAULT_AUTH_BASE
        try:
            tokens = oauth.refresh(
                _config_value(self._config, "client_id"),
                _config_value(self._config, "client_secret"),
                self.refresh_token,
                auth_base=auth_base,
            )
        except NotFound as exc:
            raise NotFound(
                f"Lever's token URL {auth_base.rstrip('/')}/oauth/token answered 404 Not Found, "
                f"so LEVER_AUTH_BASE is the wrong address (Lever's is {oauth.DEFAULT_AUTH_BASE}).",
                status=exc.status,
                body=exc.body,
                code=WRONG_ADDRESS,
            ) from exc
        self.refresh_token = tokens.refresh_token  # the old one is now dead
        if self._on_tokens is not None:
            self._on_tokens(tokens)
        return tokens

    # -- lookups ---------------------------------------------------------------------------

    def archive_reason_types(self) -> dict[str, str]:
        if self._archive_reason_types is None:
            self._archive_reason_types = {
                str(r["id"]): r.get("type") or "non-hired"
                for r in self.client.iter_all("/archive_reasons")
            }
        return self._archive_reason_types

    def _all_stages(self) -> list[ExtStage]:
        if self._stages is None:
            self._stages = [
                ExtStage(external_id=str(s["id"]), job_external_id=None, name=s.get("text") or "",
                         position=i)
                for i, s in enumerate(self.client.iter_all("/stages"))
            ]  # fmt: skip
        return self._stages

    # -- reads -----------------------------------------------------------------------------

    def _postings(self) -> Iterator[Mapping[str, Any]]:
        return self.client.iter_all("/postings")

    def iter_departments(self) -> Iterator[ExtDepartment]:
        seen: set[str] = set()
        for posting in self._postings():
            categories = posting.get("categories") or {}
            department, team = categories.get("department"), categories.get("team")
            if department and f"dept:{department}" not in seen:
                seen.add(f"dept:{department}")
                yield ExtDepartment(f"dept:{department}", department, None)
            team_id = f"team:{department or ''}/{team}"
            if team and team_id not in seen:
                seen.add(team_id)
                yield ExtDepartment(team_id, team, f"dept:{department}" if department else None)

    def iter_offices(self) -> Iterator[ExtOffice]:
        seen: set[str] = set()
        for posting in self._postings():
            for name in location_names_for(posting.get("categories") or {}):
                if name not in seen:
                    seen.add(name)
                    yield ExtOffice(f"location:{name}", name, name)

    def iter_users(self) -> Iterator[ExtUser]:
        for user in self.client.iter_all("/users"):
            yield ExtUser(str(user["id"]), user.get("name") or "", user.get("email"))

    def iter_stages(self) -> Iterator[ExtStage]:
        yield from self._all_stages()

    def iter_jobs(self) -> Iterator[ExtJob]:
        stages = self._all_stages()
        for posting in self._postings():
            categories = posting.get("categories") or {}
            yield ExtJob(
                external_id=str(posting["id"]),
                name=posting.get("text") or "",
                status=posting.get("state"),
                department_external_ids=department_ids_for(categories),
                office_external_ids=[f"location:{n}" for n in location_names_for(categories)],
                recruiter_external_ids=[str(posting["owner"])] if posting.get("owner") else [],
                coordinator_external_ids=[],
                hiring_manager_external_ids=(
                    [str(posting["hiringManager"])] if posting.get("hiringManager") else []
                ),
                stages=list(stages),
            )

    def _opportunities(self, updated_after: datetime | None) -> Iterator[Mapping[str, Any]]:
        params = list(OPPORTUNITY_EXPAND)
        if updated_after is not None:
            params.append(("updated_at_start", to_epoch_ms(updated_after)))
        return self.client.iter_all("/opportunities", params)

    def iter_candidates(self, updated_after: datetime | None = None) -> Iterator[ExtCandidate]:
        for opportunity in self._opportunities(updated_after):
            yield candidate_from_opportunity(opportunity)

    def iter_applications(self, updated_after: datetime | None = None) -> Iterator[ExtApplication]:
        reasons = self.archive_reason_types()
        for opportunity in self._opportunities(updated_after):
            yield application_from_opportunity(opportunity, reasons)

    def iter_opportunities(
        self, updated_after: datetime | None = None
    ) -> Iterator[tuple[ExtCandidate, ExtApplication]]:
        """Candidate and application of each opportunity from ONE listing.

        A Lever opportunity is both, so a sync reads the list once instead of twice."""
        reasons = self.archive_reason_types()
        for opportunity in self._opportunities(updated_after):
            yield (
                candidate_from_opportunity(opportunity),
                application_from_opportunity(opportunity, reasons),
            )

    def get_opportunity(self, external_id: str) -> tuple[ExtCandidate, ExtApplication]:
        """Candidate and application of one opportunity with one request (webhooks)."""
        reasons = self.archive_reason_types()
        opportunity = self._opportunity(external_id)
        return candidate_from_opportunity(opportunity), application_from_opportunity(
            opportunity, reasons
        )

    get_application_and_candidate = get_opportunity

    def _opportunity(self, external_id: str) -> Mapping[str, Any]:
        return self.client.get(f"/opportunities/{external_id}", OPPORTUNITY_EXPAND)

    def get_application(self, external_id: str) -> ExtApplication:
        return application_from_opportunity(
            self._opportunity(external_id), self.archive_reason_types()
        )

    def get_candidate(self, external_id: str) -> ExtCandidate:
        return candidate_from_opportunity(self._opportunity(external_id))

    # -- writes ----------------------------------------------------------------------------

    def _post_write(self, permission: str, path: str, **kwargs: Any) -> Any:
        """POST a note or file write; Lever's 403 (the account's settings do not allow it)
        becomes a :class:`PermissionDenied` that names the permission and where to grant it."""
        try:
            return self.client.post(path, **kwargs)
        except PermissionDenied as exc:
            resource, why = next(
                (res, why) for res, name, why, _ in REQUIRED_PERMISSIONS if name == permission
            )
            said = f"{exc.status} {exc.vendor_message or ''}".strip()
            if self.uses_oauth:
                credential = "The Lever connection"
                fix = f"Reconnect Lever and accept {permission}."
            else:
                credential = "The Lever API key"
                fix = (
                    "Ask a Lever Super Admin to allow it for the key under Settings → "
                    "Integrations and API → API Credentials."
                )
            raise PermissionDenied(
                f"Lever refused to {WRITE_PERMISSIONS[permission]} ({said}). {credential} "
                f"lacks the “{resource}” write permission ({permission}), needed {why}. {fix}",
                vendor_message=exc.vendor_message,
                status=exc.status,
                body=exc.body,
                code="missing_permission",
            ) from exc

    def _perform_as_params(self, *, required: bool) -> list[tuple[str, Any]]:
        if self.perform_as:
            return [("perform_as", str(self.perform_as))]
        if required:
            raise ValidationFailed(
                "Choose the Lever user RecruitFlow acts as; Lever requires one for file uploads.",
                code="missing_perform_as",
            )
        return []

    def add_note(
        self, candidate_external_id: str, body: str, *, visibility: str = "private"
    ) -> str | None:
        data = self._post_write(
            "notes:write:admin",
            f"/opportunities/{candidate_external_id}/notes",
            params=self._perform_as_params(required=False),
            json={"value": body, "secret": visibility != "public", "notifyFollowers": False},
        )
        return str(data["noteId"]) if isinstance(data, Mapping) and data.get("noteId") else None

    def set_candidate_custom_field(
        self, candidate_external_id: str, field_key: str, value: object
    ) -> None:
        raise NotSupported(
            "Lever has no writable candidate custom fields in its API; use a note instead."
        )

    def candidate_link_field_refusal(self) -> str:
        """Lever's API has no custom field on an opportunity to write to: the link goes in the
        note written for the same event."""
        return (
            "Lever has no candidate custom field RecruitFlow can write through its API, so the "
            "link is written in a note on the opportunity instead."
        )

    def add_attachment(
        self, candidate_external_id: str, filename: str, content: bytes, content_type: str
    ) -> str | None:
        data = self._post_write(
            "files:write:admin",
            f"/opportunities/{candidate_external_id}/files",
            params=self._perform_as_params(required=True),
            files={"file": (filename, content, content_type)},
        )
        return str(data["id"]) if isinstance(data, Mapping) and data.get("id") else None

    # -- activity write-back ---------------------------------------------------------------

    def _as(self, acting_user_id: str | None, *, required: bool) -> list[tuple[str, Any]]:
        user = acting_user_id or self.perform_as
        if user:
            return [("perform_as", str(user))]
        if required:
            raise ValidationFailed(
                "Choose the Lever user RecruitFlow acts as (Settings → ATS activity picks it "
                "by e-mail); Lever requires one for file uploads.",
                code="missing_perform_as",
            )
        return []

    def write_activity(self, activity: Activity) -> str | None:
        """Every activity is a note on the opportunity, made ``perform_as`` the acting user;
        only "public" visibility makes a note everyone sees (Lever's notes are otherwise
        ``secret``). An e-mail's subject heads the note."""
        body = activity.body
        if activity.kind == "email" and activity.subject:
            body = f"{activity.subject}\n\n{body}"
        data = self._post_write(
            "notes:write:admin",
            f"/opportunities/{activity.candidate_external_id}/notes",
            params=self._as(activity.acting_user_id, required=False),
            json={
                "value": body,
                "secret": activity.visibility != "public",
                "notifyFollowers": False,
            },
        )
        return str(data["noteId"]) if isinstance(data, Mapping) and data.get("noteId") else None

    def find_activity(self, candidate_external_id: str, marker: str) -> str | None:
        for note in self.client.iter_all(f"/opportunities/{candidate_external_id}/notes"):
            if not isinstance(note, Mapping):
                continue
            texts = [str(f.get("value") or "") for f in note.get("fields") or [] if f]
            if any(marker in text for text in texts):
                return str(note.get("id"))
        return None

    def attach_file(
        self,
        candidate_external_id: str,
        filename: str,
        content: bytes,
        content_type: str,
        *,
        acting_user_id: str | None = None,
    ) -> str | None:
        data = self._post_write(
            "files:write:admin",
            f"/opportunities/{candidate_external_id}/files",
            params=self._as(acting_user_id, required=True),
            files={"file": (filename, content, content_type)},
        )
        return str(data["id"]) if isinstance(data, Mapping) and data.get("id") else None

    def find_file(self, candidate_external_id: str, filename: str) -> str | None:
        for item in self.client.iter_all(f"/opportunities/{candidate_external_id}/files"):
            if isinstance(item, Mapping) and item.get("name") == filename:
                return str(item.get("id"))
        return None

    # -- connection test -------------------------------------------------------------------

    def check_permissions(self) -> list[PermissionCheck]:
        """Probe each permission with a one-record read, or (writes, and the reads of one
        opportunity's notes and files) a request against an opportunity that cannot exist, so
        nothing is written: 404/400 means allowed, 403 means missing. ``name`` is the scope as Lever's consent screen lists it."""
        results: list[PermissionCheck] = []
        if self.uses_oauth:
            has_refresh = bool(self.refresh_token)
            results.append(
                PermissionCheck(
                    name="offline_access",
                    resource="Offline access",
                    ok=has_refresh,
                    detail="Granted; keeps the connection alive without you signing in again."
                    if has_refresh
                    else "Missing: reconnect Lever and accept offline access, or the connection "
                    "stops working within an hour.",
                )
            )
        for resource, name, why, path in REQUIRED_PERMISSIONS:
            results.append(self._probe(resource, name, why, path))
        return results

    def _probe(self, resource: str, name: str, why: str, path: str | None) -> PermissionCheck:
        def check(ok: bool | None, detail: str) -> PermissionCheck:
            return PermissionCheck(name=name, resource=resource, ok=ok, detail=detail)

        is_write = ":write:" in name
        try:
            if not is_write:
                self.client.request("GET", path, params=[("limit", 1)])
            elif name.startswith("files"):
                if not self.perform_as:
                    return check(None, f"Choose the acting Lever user to check this; needed {why}.")
                self.client.post(
                    path,
                    params=self._perform_as_params(required=True),
                    files={"file": ("probe.txt", b"", "text/plain")},
                )
            else:
                self.client.post(path, params=self._perform_as_params(required=False), json={})
        except (AuthError, Unreachable):
            raise
        except NotFound as exc:
            if exc.code == WRONG_ADDRESS:
                raise  # the token URL 404'd
            if not is_write and PROBE_OPPORTUNITY_ID not in (path or ""):
                # A listing always exists at the right address: a 404 means a wrong one.
                raise NotFound(
                    f"Lever answered 404 Not Found at {self.client.http.url_for(path)}, so the "
                    f"API address is wrong: check it (Lever's is {DEFAULT_BASE_URL}; the sandbox "
                    "is https://api.sandbox.lever.co/v1, the EU https://api-eu.lever.co/v1).",
                    status=exc.status,
                    body=exc.body,
                    code=WRONG_ADDRESS,
                ) from exc
            return check(True, f"Granted; needed {why}.")
        except PermissionDenied as exc:
            return check(False, f"Missing ({exc.vendor_message or exc.status}); needed {why}.")
        except ValidationFailed:
            if is_write:
                return check(True, f"Granted; needed {why}.")
            return check(None, f"Could not check; needed {why}.")
        except ProviderError as exc:
            return check(None, f"Could not check: {exc.message}")
        return check(True, f"Granted; needed {why}.")
