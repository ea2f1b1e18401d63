"""Greenhouse adapter: Harvest v3 (default) or v1 payloads -> RecruitFlow's normalized records.

The mapping functions accept both the nested Harvest v1 shapes (``jobs[{id}]``,
``current_stage{id,name}``, ``source{public_name}``), the webhook shapes (``source{name}``,
office ``location`` as a string) and flat v3-style ids (``job_id``, ``current_stage_id``), so
one set of functions serves the API, the webhooks and both API versions.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Iterator, Mapping
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
    LinkFieldCheck,
    NotSupported,
    PermissionCheck,
    parse_iso_datetime,
    to_iso_z,
)
from integrations.greenhouse.client import (
    DEFAULT_BASE_URL,
    PER_PAGE,
    WRONG_ADDRESS,
    HarvestV1Client,
    HarvestV3Client,
    is_missing_permission,
)
from integrations.greenhouse.link_field import (
    V3_LINK_FIELD_REFUSAL,
    judge_link_field,
    link_field_permission_denied,
)
from integrations.greenhouse.permissions import REQUIRED_PERMISSIONS, RequiredPermission
from integrations.http import (
    AuthError,
    NotFound,
    PermissionDenied,
    ProviderError,
    Unreachable,
    ValidationFailed,
)
from integrations.registry import register

APPLICATION_STATUSES = {"active", "rejected", "hired", "converted"}
NOTE_VISIBILITIES = {"private", "admin_only", "public"}


# --------------------------------------------------------------------------------------------
# Payload mapping (shared with webhooks.py)
# --------------------------------------------------------------------------------------------


def _id(value: Any) -> str | None:
    """An external id as a string; accepts a bare id or an object with ``id``."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("id")
        if value is None:
            return None
    return str(value)


def _ids(values: Any) -> list[str]:
    return [i for i in (_id(v) for v in values or []) if i is not None]


def _contacts(values: Any) -> list[tuple[str, str | None]]:
    result = []
    for item in values or []:
        if isinstance(item, Mapping):
            if item.get("value"):
                result.append((str(item["value"]), item.get("type")))
        elif item:
            result.append((str(item), None))
    return result


def _tags(values: Any) -> list[str]:
    return [t["name"] if isinstance(t, Mapping) else str(t) for t in values or [] if t]


def candidate_from_payload(data: Mapping[str, Any]) -> ExtCandidate:
    return ExtCandidate(
        external_id=str(data["id"]),
        first_name=data.get("first_name") or "",
        last_name=data.get("last_name") or "",
        emails=_contacts(data.get("email_addresses")),
        phones=_contacts(data.get("phone_numbers")),
        tags=_tags(data.get("tags")),
        updated_at=parse_iso_datetime(data.get("updated_at")),
        # Greenhouse's consent flag; only an explicit false forbids e-mail.
        can_email=data.get("can_email") is not False,
    )


def application_from_payload(
    data: Mapping[str, Any], *, candidate_id: str | None = None
) -> ExtApplication:
    # Candidates have exactly one job; prospects 0..n (we keep the first).
    job_ids = _ids(data.get("jobs")) or _ids(data.get("job_ids"))
    job_id = job_ids[0] if job_ids else (_id(data.get("job_id")) or _id(data.get("job")))
    stage = data.get("current_stage")
    stage_id = _id(stage) or _id(data.get("current_stage_id"))
    stage_name = stage.get("name") if isinstance(stage, Mapping) else None
    source = data.get("source")
    source_name = None
    if isinstance(source, Mapping):
        source_name = source.get("public_name") or source.get("name")
    status = str(data.get("status") or "active").lower()
    if status not in APPLICATION_STATUSES:
        status = "active"
    candidate = data.get("candidate")
    return ExtApplication(
        external_id=str(data["id"]),
        candidate_external_id=_id(data.get("candidate_id")) or _id(candidate) or candidate_id,
        job_external_id=job_id,
        stage_external_id=stage_id,
        stage_name=stage_name,
        status=status,  # type: ignore[arg-type]
        source_name=source_name,
        applied_at=parse_iso_datetime(data.get("applied_at")),
        last_activity_at=parse_iso_datetime(data.get("last_activity_at")),
        prospect=bool(data.get("prospect")),
    )


def department_from_payload(data: Mapping[str, Any]) -> ExtDepartment:
    return ExtDepartment(
        external_id=str(data["id"]),
        name=data.get("name") or "",
        parent_external_id=_id(data.get("parent_id")),
    )


def office_from_payload(data: Mapping[str, Any]) -> ExtOffice:
    location = data.get("location")
    if isinstance(location, Mapping):
        location = location.get("name")
    return ExtOffice(external_id=str(data["id"]), name=data.get("name") or "", location=location)


def user_from_payload(data: Mapping[str, Any]) -> ExtUser:
    name = data.get("name") or " ".join(
        p for p in (data.get("first_name"), data.get("last_name")) if p
    )
    email = data.get("primary_email_address") or data.get("email")
    if not email and data.get("emails"):
        email = data["emails"][0]
    return ExtUser(external_id=str(data["id"]), name=name or "", email=email)


def stage_from_payload(data: Mapping[str, Any], job_id: str | None = None) -> ExtStage:
    position = data.get("priority")
    return ExtStage(
        external_id=str(data["id"]),
        job_external_id=_id(data.get("job_id")) or job_id,
        name=data.get("name") or "",
        position=int(position) if position is not None else None,
    )


def job_from_payload(data: Mapping[str, Any], stages: list[ExtStage] | None = None) -> ExtJob:
    team = data.get("hiring_team") or {}
    return ExtJob(
        external_id=str(data["id"]),
        name=data.get("name") or "",
        status=data.get("status"),
        department_external_ids=_ids(data.get("departments")) or _ids(data.get("department_ids")),
        office_external_ids=_ids(data.get("offices")) or _ids(data.get("office_ids")),
        recruiter_external_ids=_ids(team.get("recruiters")),
        coordinator_external_ids=_ids(team.get("coordinators")),
        hiring_manager_external_ids=_ids(team.get("hiring_managers")),
        stages=sorted(stages or [], key=lambda s: (s.position is None, s.position or 0)),
    )


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _config_value(config: Any, key: str, default: Any = None) -> Any:
    if isinstance(config, Mapping):
        return config.get(key, default)
    return getattr(config, key, default)


@register("greenhouse")
class GreenhouseProvider(ATSProvider):
    """Greenhouse Harvest. ``config``: a dict or object with ``api_version`` ("v3" | "v1"),
    ``base_url``, ``api_key`` (v1) or ``client_id`` + ``client_secret`` (v3) and
    ``acting_user_id`` (the Greenhouse user writes are made as). Extra keyword arguments go to
    :class:`~integrations.http.HttpClient` (``on_call``, ``sleep``, ...)."""

    identifier = "greenhouse"
    display_name = "Greenhouse"
    page_size = PER_PAGE

    def __init__(self, config: Any, **http_kwargs: Any) -> None:
        self.api_version = (_config_value(config, "api_version") or "v3").lower()
        base_url = _config_value(config, "base_url") or DEFAULT_BASE_URL
        self.acting_user_id = _config_value(config, "acting_user_id")
        if self.api_version == "v1":
            self.client: HarvestV1Client | HarvestV3Client = HarvestV1Client(
                _config_value(config, "api_key") or "",
                base_url=base_url,
                on_behalf_of=self.acting_user_id,
                **http_kwargs,
            )
        elif self.api_version == "v3":
            self.client = HarvestV3Client(
                _config_value(config, "client_id") or "",
                _config_value(config, "client_secret") or "",
                base_url=base_url,
                token_url=_config_value(config, "token_url"),
                sub=self.acting_user_id,
                **http_kwargs,
            )
        else:
            raise ValueError(f"Unknown Greenhouse API version {self.api_version!r}.")
        # The candidate custom field definitions, read once per adapter (one writer session).
        self._candidate_fields: list[Mapping[str, Any]] | None = None

    @property
    def is_v1(self) -> bool:
        return self.api_version == "v1"

    def _path(self, resource: str) -> str:
        return f"/{self.api_version}/{resource.lstrip('/')}"

    def _since(self, field_v1: str, when: datetime | None) -> dict[str, str]:
        if when is None:
            return {}
        if self.is_v1:
            return {field_v1: to_iso_z(when)}
        return {"updated_at": f"gte|{to_iso_z(when)}"}

    # -- reads -----------------------------------------------------------------------------

    def iter_departments(self) -> Iterator[ExtDepartment]:
        for item in self.client.iter_all(self._path("departments")):
            yield department_from_payload(item)

    def iter_offices(self) -> Iterator[ExtOffice]:
        for item in self.client.iter_all(self._path("offices")):
            yield office_from_payload(item)

    def iter_users(self) -> Iterator[ExtUser]:
        for item in self.client.iter_all(self._path("users")):
            yield user_from_payload(item)

    def iter_stages(self) -> Iterator[ExtStage]:
        for item in self.client.iter_all(self._path("job_stages")):
            if item.get("active") is False:  # Greenhouse marks deleted stages inactive
                continue
            yield stage_from_payload(item)

    def iter_jobs(self) -> Iterator[ExtJob]:
        # One paged listing of all stages beats one stages call per job.
        stages_by_job: dict[str, list[ExtStage]] = defaultdict(list)
        for stage in self.iter_stages():
            stages_by_job[stage.job_external_id or ""].append(stage)
        for item in self.client.iter_all(self._path("jobs")):
            yield job_from_payload(item, stages_by_job.get(str(item["id"]), []))

    def iter_candidates(self, updated_after: datetime | None = None) -> Iterator[ExtCandidate]:
        params = self._since("updated_after", updated_after)
        for item in self.client.iter_all(self._path("candidates"), params):
            yield candidate_from_payload(item)

    def iter_candidates_with_applications(
        self, updated_after: datetime | None = None
    ) -> Iterator[tuple[ExtCandidate, list[ExtApplication] | None]]:
        """Each candidate with the full application objects Harvest embeds in it, so a full
        sync needs no separate applications listing. The list is None when the payload does
        not embed them (then list applications separately)."""
        params = self._since("updated_after", updated_after)
        for item in self.client.iter_all(self._path("candidates"), params):
            embedded = item.get("applications")
            applications = None
            if isinstance(embedded, list):
                cid = str(item["id"])
                applications = [
                    application_from_payload(a, candidate_id=cid)
                    for a in embedded
                    if isinstance(a, Mapping) and a.get("id") is not None
                ]
            yield candidate_from_payload(item), applications

    def iter_applications(self, updated_after: datetime | None = None) -> Iterator[ExtApplication]:
        # v1 has no updated_after for applications; last_activity_after is the documented one.
        params = self._since("last_activity_after", updated_after)
        for item in self.client.iter_all(self._path("applications"), params):
            yield application_from_payload(item)

    def get_application(self, external_id: str) -> ExtApplication:
        return application_from_payload(self.client.get(self._path(f"applications/{external_id}")))

    def get_candidate(self, external_id: str) -> ExtCandidate:
        return candidate_from_payload(self.client.get(self._path(f"candidates/{external_id}")))

    # -- writes ----------------------------------------------------------------------------

    def _acting_user(self) -> int:
        value = self.acting_user_id
        if value is None or not str(value).strip().isdigit():
            raise ValidationFailed(
                "Choose the Greenhouse user RecruitFlow writes as (Settings → Greenhouse).",
                code="missing_on_behalf_of",
            )
        return int(value)

    def add_note(
        self, candidate_external_id: str, body: str, *, visibility: str = "private"
    ) -> str | None:
        if visibility not in NOTE_VISIBILITIES:
            raise ValueError(f"visibility must be one of {sorted(NOTE_VISIBILITIES)}")
        payload: dict[str, Any] = {
            "user_id": self._acting_user(),
            "body": body,
            "visibility": visibility,
        }
        if self.is_v1:
            path = self._path(f"candidates/{candidate_external_id}/activity_feed/notes")
        else:  # v3 replaces the activity feed with /v3/notes [assumed shape]
            path = self._path("notes")
            payload["candidate_id"] = int(candidate_external_id)
        return _id(self.client.post(path, payload))

    def add_email_note(
        self,
        candidate_external_id: str,
        *,
        to: str,
        from_: str,
        subject: str,
        body: str,
        cc: list[str] | None = None,
    ) -> str | None:
        payload: dict[str, Any] = {
            "user_id": self._acting_user(),
            "to": to,
            "from": from_,
            "cc": cc or [],
            "subject": subject,
            "body": body,
        }
        if self.is_v1:
            path = self._path(f"candidates/{candidate_external_id}/activity_feed/emails")
        else:
            path = self._path("emails")
            payload["candidate_id"] = int(candidate_external_id)
        return _id(self.client.post(path, payload))

    def set_candidate_custom_field(
        self, candidate_external_id: str, field_key: str, value: object
    ) -> None:
        entry: dict[str, Any] = {"name_key": field_key}
        if value is None:
            entry["delete_value"] = "true"  # Greenhouse rejects null/"": it wants this string
        else:
            entry["value"] = value
        self._acting_user()
        self.client.patch(
            self._path(f"candidates/{candidate_external_id}"), {"custom_fields": [entry]}
        )

    def add_attachment(
        self,
        candidate_external_id: str,
        filename: str,
        content: bytes,
        content_type: str,
        *,
        attachment_type: str = "admin_only",
    ) -> str | None:
        self._v1_attachments_only()
        self._acting_user()
        payload = {
            "filename": filename,
            "type": attachment_type,
            "content": base64.b64encode(content).decode("ascii"),
            "content_type": content_type,
        }
        result = self.client.post(
            self._path(f"candidates/{candidate_external_id}/attachments"), payload
        )
        return result.get("url") if isinstance(result, Mapping) else None

    def file_upload_refusal(self) -> str:
        """Harvest v1's candidate attachment POST is the documented upload; v3 has no
        ``/v3/candidates/{id}/attachments`` (its attachments hang off an application)."""
        if self.is_v1:
            return ""
        return (
            "Greenhouse Harvest v3 has no candidate attachment upload (v3 attaches files "
            "to an application), so files such as SMS transcripts are attached only "
            "through a Harvest v1 API key."
        )

    def _v1_attachments_only(self) -> None:
        """A v3 connection is told it cannot upload instead of getting a 404 that reads like a
        deleted candidate."""
        refusal = self.file_upload_refusal()
        if refusal:
            raise NotSupported(refusal, code="attachments_need_v1")

    # -- activity write-back ---------------------------------------------------------------

    def _writer(self, acting_user_id: str | None) -> str:
        value = acting_user_id if acting_user_id is not None else self.acting_user_id
        if value is None or not str(value).strip().isdigit():
            raise ValidationFailed(
                "Choose the Greenhouse user RecruitFlow writes as (a numeric Greenhouse user "
                "id; Settings → ATS activity picks it by e-mail).",
                code="missing_on_behalf_of",
            )
        return str(value).strip()

    def write_activity(self, activity: Activity) -> str | None:
        """An e-mail becomes an activity-feed e-mail (v1; v3 has no e-mail records, so a note
        with the subject on top), anything else a note with the activity's visibility, each
        written On-Behalf-Of (v1) / as the token's ``sub`` (v3) the acting user."""
        if activity.visibility not in NOTE_VISIBILITIES:
            raise ValueError(f"visibility must be one of {sorted(NOTE_VISIBILITIES)}")
        user = self._writer(activity.acting_user_id)
        cid = activity.candidate_external_id
        if activity.kind == "email" and self.is_v1:
            payload: dict[str, Any] = {
                "user_id": int(user),
                "to": activity.email_to or "candidate",
                "from": activity.email_from or "RecruitFlow",
                "cc": [],
                "subject": activity.subject or "(no subject)",
                "body": activity.body,
            }
            path = self._path(f"candidates/{cid}/activity_feed/emails")
            return _id(self.client.post(path, payload, on_behalf_of=user))
        body = activity.body
        if activity.kind == "email" and activity.subject:
            body = f"{activity.subject}\n\n{body}"
        payload = {"user_id": int(user), "body": body, "visibility": activity.visibility}
        if self.is_v1:
            path = self._path(f"candidates/{cid}/activity_feed/notes")
        else:
            path = self._path("notes")
            payload["candidate_id"] = int(cid)
        return _id(self.client.post(path, payload, on_behalf_of=user))

    def find_activity(self, candidate_external_id: str, marker: str) -> str | None:
        """v1: the candidate's activity feed (notes and e-mails); v3: the candidate's notes."""
        if self.is_v1:
            feed = self.client.get(self._path(f"candidates/{candidate_external_id}/activity_feed"))
            records: list[Any] = []
            if isinstance(feed, Mapping):
                records = [*(feed.get("notes") or []), *(feed.get("emails") or [])]
        else:
            records = list(
                self.client.iter_all(
                    self._path("notes"), {"candidate_ids": str(candidate_external_id)}
                )
            )
        for record in records:
            if isinstance(record, Mapping) and marker in str(record.get("body") or ""):
                return _id(record)
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
        """Harvest v1 candidate attachment: JSON with the file as base64 ``content``, its
        ``content_type``, ``type: admin_only`` (resume|cover_letter|admin_only are the
        candidate types), written On-Behalf-Of the acting user."""
        self._v1_attachments_only()
        user = self._writer(acting_user_id)
        payload = {
            "filename": filename,
            "type": "admin_only",
            "content": base64.b64encode(content).decode("ascii"),
            "content_type": content_type,
        }
        result = self.client.post(
            self._path(f"candidates/{candidate_external_id}/attachments"),
            payload,
            on_behalf_of=user,
        )
        return result.get("url") if isinstance(result, Mapping) else None

    def find_file(self, candidate_external_id: str, filename: str) -> str | None:
        data = self.client.get(self._path(f"candidates/{candidate_external_id}"))
        for item in (data.get("attachments") if isinstance(data, Mapping) else None) or []:
            if isinstance(item, Mapping) and item.get("filename") == filename:
                return str(item.get("url") or filename)
        return None

    # -- a link in a candidate custom field --------------------------------------------------

    def candidate_link_field_refusal(self) -> str:
        """Harvest v1 documents ``custom_fields`` on ``PATCH /v1/candidates/{id}``; no v3
        custom field write is confirmed, so a v3 connection does not guess one."""
        return "" if self.is_v1 else V3_LINK_FIELD_REFUSAL

    def _candidate_field_definitions(self) -> list[Mapping[str, Any]]:
        """``GET /v1/custom_fields/candidate?include_inactive=true`` (deleted fields too, so a
        deleted "Video Interview" is told apart from one never made)."""
        if self._candidate_fields is None:
            self._candidate_fields = [
                item
                for item in self.client.iter_all(
                    self._path("custom_fields/candidate"), {"include_inactive": "true"}
                )
                if isinstance(item, Mapping)
            ]
        return self._candidate_fields

    def candidate_link_field_check(self, field_name: str) -> LinkFieldCheck:
        refusal = self.candidate_link_field_refusal()
        if refusal:
            return LinkFieldCheck(name=field_name, ok=None, detail=refusal)
        try:
            fields = self._candidate_field_definitions()
        except PermissionDenied as exc:
            return LinkFieldCheck(
                name=field_name, ok=False, detail=link_field_permission_denied(exc).message
            )
        return judge_link_field(fields, field_name)

    def write_candidate_link_field(
        self,
        candidate_external_id: str,
        field_name: str,
        value: str,
        *,
        acting_user_id: str | None = None,
    ) -> str | None:
        """``PATCH /v1/candidates/{id}`` with ``custom_fields: [{id, value}]`` On-Behalf-Of the
        acting user, the field found by name or immutable key among the candidate fields."""
        refusal = self.candidate_link_field_refusal()
        if refusal:
            raise NotSupported(refusal, code="link_field_needs_v1")
        user = self._writer(acting_user_id)
        try:
            check = judge_link_field(self._candidate_field_definitions(), field_name)
        except PermissionDenied as exc:
            raise link_field_permission_denied(exc) from exc
        if not check.ok or check.field_id is None:
            raise ValidationFailed(check.detail, code="link_field_missing")
        payload = {"custom_fields": [{"id": int(check.field_id), "value": value}]}
        try:
            self.client.patch(
                self._path(f"candidates/{candidate_external_id}"), payload, on_behalf_of=user
            )
        except ValidationFailed as exc:
            # Deleted or changed between the read and the write: read again next time.
            self._candidate_fields = None
            raise ValidationFailed(
                f"{exc.message} {judge_link_field([], field_name).detail}",
                status=exc.status,
                body=exc.body,
                field_errors=exc.field_errors,
                code="link_field_missing",
            ) from exc
        return check.field_id

    # -- connection test -------------------------------------------------------------------

    def check_permissions(self) -> list[PermissionCheck]:
        """Probe each needed permission with a one-record request.

        Write permissions are probed (v1) against a candidate id that cannot exist, so nothing
        is written: "missing permission" means not granted, 404/422 means the route let us
        through. That Greenhouse checks the grant before looking the record up is an
        assumption; v3 writes are reported as not verifiable.
        """
        results: list[PermissionCheck] = []
        ids: dict[str, str] = {}
        for perm in REQUIRED_PERMISSIONS:
            results.append(self._probe(perm, ids))
        return results

    def _probe(self, perm: RequiredPermission, ids: dict[str, str]) -> PermissionCheck:
        def check(ok: bool | None, detail: str) -> PermissionCheck:
            return PermissionCheck(name=perm.name, resource=perm.resource, ok=ok, detail=detail)

        template = perm.v1_path if self.is_v1 else perm.v3_path
        if perm.kind == "write" and not self.is_v1:
            template = None
        if template is None:
            return check(None, f"Not verifiable without writing; needed {perm.why}.")
        if perm.kind == "write" and (
            self.acting_user_id is None or not str(self.acting_user_id).strip().isdigit()
        ):
            return check(
                None, f"Choose the acting Greenhouse user to check this; needed {perm.why}."
            )
        path = template.format(
            candidate_id=ids.get("candidate", "0") if perm.kind != "write" else "0",
            application_id=ids.get("application", "0"),
        )
        try:
            if perm.method == "GET":
                params = {"per_page": 1} if perm.kind == "list" else None
                body = self.client.get(path, params)
                if perm.kind == "list" and isinstance(body, list) and body:
                    key = {"candidates": "candidate", "applications": "application"}.get(
                        path.rstrip("/").rsplit("/", 1)[-1]
                    )
                    if key and isinstance(body[0], Mapping) and "id" in body[0]:
                        ids[key] = str(body[0]["id"])
            else:
                self.client.request(perm.method, path, json={})
        except (AuthError, Unreachable):
            raise  # wrong credentials or host: no permission can be judged
        except NotFound as exc:
            if exc.code == WRONG_ADDRESS:
                raise  # the token URL 404'd
            if perm.kind == "list":
                # A listing always exists at the right address: a 404 means a wrong one.
                raise NotFound(
                    f"Greenhouse answered 404 Not Found at {self.client.http.url_for(path)}, "
                    "so the base URL is the wrong address: check it (Greenhouse's is "
                    f"{DEFAULT_BASE_URL}, with no /v1 or /v3 at the end) and the API version.",
                    status=exc.status,
                    body=exc.body,
                    code=WRONG_ADDRESS,
                ) from exc
            return check(True, f"Granted; needed {perm.why}.")
        except PermissionDenied as exc:
            if is_missing_permission(exc):
                return check(
                    False,
                    f"Missing. Tick “{perm.resource} → {perm.name}” on the API key; "
                    f"needed {perm.why}.",
                )
            return check(False, f"Greenhouse refused: {exc.vendor_message or exc.message}")
        except ValidationFailed as exc:
            if perm.kind in ("retrieve", "write") and exc.code != "missing_on_behalf_of":
                return check(True, f"Granted; needed {perm.why}.")
            return check(None, f"Could not check: {exc.message}")
        except ProviderError as exc:
            return check(None, f"Could not check: {exc.message}")
        return check(True, f"Granted; needed {perm.why}.")
