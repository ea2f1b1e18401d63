"""Harvest v1 (``/v1/...``): Basic auth with per-endpoint grants, Link-header paging,
filters, the per-10-second rate limit and On-Behalf-Of writes."""

from __future__ import annotations

import base64
import binascii
import time
import urllib.parse

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.greenhouse.contract import (
    ATTACHMENT_CONTENT_TYPES,
    BAD_AUTH,
    NO_PERMISSION,
    NOT_FOUND,
    ApiError,
    validation_error,
)
from integrations.sandbox.greenhouse.params import in_window, int_param, read_json, time_param
from integrations.sandbox.greenhouse.state import GreenhouseState

V1_RULES = [
    ("/v1/candidates", "GET", "list_candidates", "GET: List Candidates"),
    ("/v1/candidates/<int:id>", "GET", "get_candidate", "GET: Retrieve Candidate"),
    ("/v1/candidates/<int:id>", "PATCH", "patch_candidate", "PATCH: Edit Candidate"),
    (
        "/v1/candidates/<int:id>/activity_feed",
        "GET",
        "activity_feed",
        "GET: Retrieve Activity Feed",
    ),
    ("/v1/candidates/<int:id>/activity_feed/notes", "POST", "add_note", "POST: Add Note"),
    ("/v1/candidates/<int:id>/activity_feed/emails", "POST", "add_email", "POST: Add E-mail"),
    ("/v1/candidates/<int:id>/attachments", "POST", "add_attachment", "POST: Add Attachment"),
    (
        "/v1/candidates/<int:id>/tags",
        "GET",
        "candidate_tags",
        "GET: List tags applied to candidate",
    ),
    ("/v1/applications", "GET", "list_applications", "GET: List Applications"),
    ("/v1/applications/<int:id>", "GET", "get_application", "GET: Retrieve Application"),
    ("/v1/applications/<int:id>/move", "POST", "move", "POST: Move Application"),
    ("/v1/applications/<int:id>/advance", "POST", "advance", "POST: Advance Application"),
    ("/v1/applications/<int:id>/reject", "POST", "reject", "POST: Reject Application"),
    ("/v1/applications/<int:id>/unreject", "POST", "unreject", "POST: Unreject Application"),
    ("/v1/applications/<int:id>/hire", "POST", "hire", "POST: Hire Application"),
    ("/v1/jobs", "GET", "list_jobs", "GET: List Jobs"),
    ("/v1/jobs/<int:id>", "GET", "get_job", "GET: Retrieve Job"),
    ("/v1/jobs/<int:id>/stages", "GET", "job_stages_for_job", "GET: List job stages for job"),
    ("/v1/job_stages", "GET", "list_job_stages", "GET: List job stages"),
    ("/v1/job_stages/<int:id>", "GET", "get_job_stage", "GET: Retrieve job stage"),
    ("/v1/departments", "GET", "list_departments", "GET: List Departments"),
    ("/v1/departments/<int:id>", "GET", "get_department", "GET: Retrieve Department"),
    ("/v1/offices", "GET", "list_offices", "GET: List Offices"),
    ("/v1/offices/<int:id>", "GET", "get_office", "GET: Retrieve Office"),
    ("/v1/users", "GET", "list_users", "GET: List Users"),
    ("/v1/users/<int:id>", "GET", "get_user", "GET: Retrieve User"),
    ("/v1/user_roles", "GET", "list_user_roles", "GET: List User Roles"),
    ("/v1/custom_fields", "GET", "list_custom_fields", "GET: Get custom fields"),
    ("/v1/custom_fields/<field_type>", "GET", "list_custom_fields", "GET: Get custom fields"),
    ("/v1/custom_field/<int:id>", "GET", "get_custom_field", "GET: Get custom fields"),
    ("/v1/sources", "GET", "list_sources", "GET: List sources"),
    ("/v1/tags/candidate", "GET", "list_candidate_tags", "GET: List candidate tags"),
]


V1_PERMISSION = {name: perm for _, _, name, perm in V1_RULES}


V1_MAP = Map(
    [Rule(path, methods=[m], endpoint=name) for path, m, name, _ in V1_RULES],
    strict_slashes=False,
)


class HarvestV1Mixin:
    """The v1 endpoints of :class:`GreenhouseApp`."""

    state: GreenhouseState

    # v1 ------------------------------------------------------------------------------------------
    def _v1_key(self, request: Request) -> str | None:
        auth = request.authorization
        if not auth or auth.type != "basic":
            return None
        if auth.password not in (None, ""):
            return None
        return auth.username if auth.username in self.state.v1_keys else None

    def v1(self, request: Request) -> Response:
        st = self.state
        key = self._v1_key(request)
        if key is None:
            limit, remaining = st.limiter.peek("anonymous")
            return json_response(
                BAD_AUTH,
                401,
                {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining},
            )
        allowed, limit, remaining, reset = st.limiter.hit(key)
        rl_headers = {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining}
        if not allowed:
            retry = max(1, int(reset - time.time() + 0.999))
            rl_headers["Retry-After"] = (
                int(reset - st.legacy_epoch_lag) if st.legacy_epoch_retry_after else retry
            )
            rl_headers["X-RateLimit-Reset"] = int(reset - st.legacy_epoch_lag)
            return json_response(
                {"message": "Too Many Requests"},
                429,
                rl_headers,
            )
        try:
            response = self._v1_route(request, key)
        except ApiError as exc:
            response = json_response(exc.body, exc.status, exc.headers)
        for k, v in rl_headers.items():
            response.headers[k] = str(v)
        return response

    def _v1_route(self, request: Request, key: str) -> Response:
        st = self.state
        if request.method in ("GET", "HEAD") and (
            (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding")
        ):
            raise ApiError(403, {"message": "GET requests must not include a body"})
        adapter = V1_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except (NotFound, MethodNotAllowed):
            raise ApiError(404, NOT_FOUND) from None
        except HTTPException:
            raise ApiError(404, NOT_FOUND) from None
        grants = st.v1_keys.get(key)
        if grants is not None and V1_PERMISSION[endpoint].lower() not in grants:
            raise ApiError(403, NO_PERMISSION)
        acting = None
        if request.method != "GET":
            acting = self._on_behalf_of(request)
        handler = getattr(self, f"v1_{endpoint}")
        with st.lock:
            result = handler(request, acting=acting, **values)
        if isinstance(result, Response):
            return result
        return json_response(result)

    def _on_behalf_of(self, request: Request) -> int:
        raw = request.headers.get("On-Behalf-Of")
        if raw is None or not raw.strip():
            raise ApiError(403, {"message": "Missing On-Behalf-Of header"})
        raw = raw.strip()
        if not raw.isdigit():
            raise ApiError(
                403, {"message": "On-Behalf-Of must be the numeric id of a Greenhouse user"}
            )
        uid = int(raw)
        user = self.state.co.user(uid)
        if user is None or user["disabled"]:
            raise ApiError(403, {"message": f"On-Behalf-Of user {uid} was not found"})
        return uid

    def _page(self, request: Request, ids_or_items: list, render, next_only=False) -> Response:
        args = request.args
        per_page = int_param(args, "per_page", 100)
        page = int_param(args, "page", 1)
        if per_page < 1 or per_page > 500:
            raise validation_error("per_page", "Must be between 1 and 500")
        if page < 1:
            raise validation_error("page", "Must be greater than or equal to 1")
        total = len(ids_or_items)
        last = max(1, -(-total // per_page))
        chunk = ids_or_items[(page - 1) * per_page : page * per_page]
        body = [render(x) for x in chunk]
        resp = json_response(body)
        links = []
        base = request.base_url

        def url(p: int) -> str:
            q = [(k, v) for k, v in args.items(multi=True) if k != "page"]
            q.insert(0, ("page", str(p)))
            if "per_page" not in args:
                q.append(("per_page", str(per_page)))
            return f"{base}?{urllib.parse.urlencode(q)}"

        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
        if not next_only:
            if page > 1:
                links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
            skip = args.get("skip_count", "").lower() == "true"
            if not skip and last > 1:
                links.append(f'<{url(last)}>; rel="last"')
        if links:
            resp.headers["Link"] = ",".join(links)
        return resp

    # v1 handlers (run under the state lock) ---------------------------------------------------
    def v1_list_candidates(self, request, acting=None):
        st, args = self.state, request.args
        ca, cb = time_param(args, "created_after"), time_param(args, "created_before")
        ua, ub = time_param(args, "updated_after"), time_param(args, "updated_before")
        job_id = int_param(args, "job_id")
        email = (args.get("email") or "").strip().lower() or None
        cids = None
        if args.get("candidate_ids") and not email:
            try:
                cids = {int(x) for x in args["candidate_ids"].split(",") if x.strip()}
            except ValueError:
                raise validation_error("candidate_ids", "Must be a comma separated list") from None
            if len(cids) > 50:
                raise validation_error("candidate_ids", "At most 50 ids")
        cands = st.co.candidates

        def compute():
            out = []
            for cid in st._cands_sorted:
                c = cands[cid]
                if cids is not None and cid not in cids:
                    continue
                if not in_window(c["created_at"], ca, cb):
                    continue
                if not in_window(c["updated_at"], ua, ub):
                    continue
                if email and not any(e["value"].lower() == email for e in c["email_addresses"]):
                    continue
                if job_id is not None and not any(
                    st.co.applications[a]["job_id"] == job_id for a in c["application_ids"]
                ):
                    continue
                out.append(cid)
            return out

        key = ("cand", ca, cb, ua, ub, job_id, email, tuple(sorted(cids)) if cids else None)
        ids = st.cached_ids(key, compute)
        return self._page(request, ids, lambda i: st.render_candidate(cands[i]))

    def v1_get_candidate(self, request, id, acting=None):  # noqa: A002
        return self.state.render_candidate(self.state.get_candidate(id))

    def v1_candidate_tags(self, request, id, acting=None):  # noqa: A002
        c = self.state.get_candidate(id)
        return [t for t in self.state.co.candidate_tags if t["name"] in c["tags"]]

    def v1_activity_feed(self, request, id, acting=None):  # noqa: A002
        return self.state.activity_feed(self.state.get_candidate(id))

    def v1_list_applications(self, request, acting=None):
        st, args = self.state, request.args
        ca, cb = time_param(args, "created_after"), time_param(args, "created_before")
        la = time_param(args, "last_activity_after")
        job_id = int_param(args, "job_id")
        status = args.get("status")
        apps = st.co.applications
        if status is not None and status not in ("active", "converted", "hired", "rejected"):
            return self._page(request, [], lambda x: x)

        def compute():
            if ca is None and cb is None and la is None and job_id is None and status is None:
                return st._apps_sorted
            out = []
            for aid in st._apps_sorted:
                a = apps[aid]
                if not in_window(a["applied_at"], ca, cb):
                    continue
                if la is not None and a["last_activity_at"] < la:
                    continue
                if job_id is not None and a["job_id"] != job_id:
                    continue
                if status is not None and a["status"] != status:
                    continue
                out.append(aid)
            return out

        ids = st.cached_ids(("app", ca, cb, la, job_id, status), compute)
        return self._page(request, ids, lambda i: st.render_application(apps[i]))

    def v1_get_application(self, request, id, acting=None):  # noqa: A002
        return self.state.render_application(self.state.get_application(id))

    def _app_write(self, request, id, acting, fn):  # noqa: A002
        st = self.state
        st.get_application(id)
        body = read_json(request)
        app = fn(body)
        return json_response(st.render_application(app))

    def v1_move(self, request, id, acting=None):  # noqa: A002
        def go(body):
            for f in ("from_stage_id", "to_stage_id"):
                if body.get(f) is None:
                    raise validation_error(f, "can't be blank")
            try:
                frm, to = int(body["from_stage_id"]), int(body["to_stage_id"])
            except (TypeError, ValueError):
                raise validation_error("to_stage_id", "Must be an integer") from None
            return self.state.move_application(id, to, acting, from_stage_id=frm, source="v1")

        return self._app_write(request, id, acting, go)

    def v1_advance(self, request, id, acting=None):  # noqa: A002
        def go(body):
            if body.get("from_stage_id") is None:
                raise validation_error("from_stage_id", "can't be blank")
            app = self.state.get_application(id)
            stages = self.state.co.job(app["job_id"])["stage_ids"]
            if app["stage_id"] not in stages or app["stage_id"] == stages[-1]:
                raise validation_error("from_stage_id", "Application is in the last stage")
            nxt = stages[stages.index(app["stage_id"]) + 1]
            return self.state.move_application(
                id, nxt, acting, from_stage_id=int(body["from_stage_id"]), source="v1"
            )

        return self._app_write(request, id, acting, go)

    def v1_reject(self, request, id, acting=None):  # noqa: A002
        return self._app_write(
            request,
            id,
            acting,
            lambda b: self.state.reject_application(
                id, b.get("rejection_reason_id"), b.get("notes"), acting, source="v1"
            ),
        )

    def v1_unreject(self, request, id, acting=None):  # noqa: A002
        return self._app_write(
            request,
            id,
            acting,
            lambda b: self.state.unreject_application(id, acting, source="v1"),
        )

    def v1_hire(self, request, id, acting=None):  # noqa: A002
        return self._app_write(
            request,
            id,
            acting,
            lambda b: self.state.hire_application(id, acting, b.get("start_date"), source="v1"),
        )

    def v1_add_note(self, request, id, acting=None):  # noqa: A002
        st = self.state
        st.get_candidate(id)
        body = read_json(request)
        user_id = body.get("user_id", acting)
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            raise validation_error("user_id", "Must be a user id") from None
        if st.co.user(user_id) is None:
            raise validation_error("user_id", "User not found")
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise validation_error("body", "can't be blank")
        visibility = body.get("visibility")
        if visibility not in ("admin_only", "private", "public"):
            raise validation_error("visibility", "Must be one of: admin_only, private, public")
        note = st.add_note(id, user_id, text, visibility, source="v1")
        return json_response(st.render_note(note), 201)

    def v1_add_email(self, request, id, acting=None):  # noqa: A002
        st = self.state
        st.get_candidate(id)
        body = read_json(request)
        user_id = body.get("user_id", acting)
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            raise validation_error("user_id", "Must be a user id") from None
        if st.co.user(user_id) is None:
            raise validation_error("user_id", "User not found")
        for f in ("to", "from", "subject", "body"):
            if not isinstance(body.get(f), str) or not body[f].strip():
                raise validation_error(f, "can't be blank")
        cc = body.get("cc") or []
        if not isinstance(cc, list):
            raise validation_error("cc", "Must be an array")
        email = st.add_email(
            id, user_id, body["to"], body["from"], body["subject"], body["body"], cc, source="v1"
        )
        return json_response(st.render_email(email), 201)

    PATCHABLE = (
        "first_name",
        "last_name",
        "company",
        "title",
        "is_private",
        "phone_numbers",
        "addresses",
        "email_addresses",
        "website_addresses",
        "social_media_addresses",
    )

    def v1_patch_candidate(self, request, id, acting=None):  # noqa: A002
        st = self.state
        st.get_candidate(id)
        body = read_json(request)
        fields = {k: body[k] for k in self.PATCHABLE if k in body}
        for k in ("first_name", "last_name"):
            if k in fields and (not isinstance(fields[k], str) or not fields[k].strip()):
                raise validation_error(k, "can't be blank")
        cand = st.patch_candidate(id, acting, fields, body.get("custom_fields") or [], source="v1")
        return st.render_candidate(cand)

    def v1_add_attachment(self, request, id, acting=None):  # noqa: A002
        st = self.state
        st.get_candidate(id)
        body = read_json(request)
        filename = body.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise validation_error("filename", "can't be blank")
        if body.get("type") not in ("resume", "cover_letter", "admin_only"):
            raise validation_error("type", "Must be one of: resume, cover_letter, admin_only")
        content, url, ctype = body.get("content"), body.get("url"), body.get("content_type")
        size = None
        if content is not None:
            if not ctype:
                raise validation_error("content_type", "is required when content is provided")
            if ctype not in ATTACHMENT_CONTENT_TYPES:
                raise validation_error("content_type", "Unsupported content type")
            try:
                size = len(base64.b64decode(content, validate=True))
            except (binascii.Error, TypeError, ValueError):
                raise validation_error("content", "Must be base64 encoded") from None
        elif url is not None:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise validation_error("url", "Must be a valid URL")
        else:
            raise validation_error("content", "Either content or url is required")
        att = st.add_attachment(
            id, acting, filename, body["type"], ctype, url if content is None else None, size,
            source="v1", content_b64=content,
        )  # fmt: skip
        out = st._attachment(att)
        return json_response(
            {"filename": out["filename"], "url": out["url"], "type": att["type"],
             "content_type": ctype},
            201,
        )  # fmt: skip

    def _jobs_filtered(self, args) -> list[dict]:
        ca, cb = time_param(args, "created_after"), time_param(args, "created_before")
        ua, ub = time_param(args, "updated_after"), time_param(args, "updated_before")
        status = args.get("status")
        dept = int_param(args, "department_id")
        office = int_param(args, "office_id")
        req = args.get("requisition_id")
        out = []
        for j in self.state.co.jobs:
            if not in_window(j["created_at"], ca, cb) or not in_window(j["updated_at"], ua, ub):
                continue
            if status and j["status"] != status:
                continue
            if dept is not None and j["department_id"] != dept:
                continue
            if office is not None and office not in j["office_ids"]:
                continue
            if req and j["requisition_id"] != req:
                continue
            out.append(j)
        return out

    def v1_list_jobs(self, request, acting=None):
        return self._page(request, self._jobs_filtered(request.args), self.state.render_job)

    def v1_get_job(self, request, id, acting=None):  # noqa: A002
        job = self.state.co.job(id)
        if job is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_job(job)

    def _stages_filtered(self, args, stages) -> list[dict]:
        ca, cb = time_param(args, "created_after"), time_param(args, "created_before")
        ua, ub = time_param(args, "updated_after"), time_param(args, "updated_before")
        return [
            s
            for s in stages
            if in_window(s["created_at"], ca, cb) and in_window(s["updated_at"], ua, ub)
        ]

    def v1_job_stages_for_job(self, request, id, acting=None):  # noqa: A002
        if self.state.co.job(id) is None:
            raise ApiError(404, NOT_FOUND)
        stages = self._stages_filtered(request.args, self.state.co.job_stages(id))
        return self._page(request, stages, self.state.render_stage)

    def v1_list_job_stages(self, request, acting=None):
        stages = [self.state.co.stages[k] for k in sorted(self.state.co.stages)]
        stages = self._stages_filtered(request.args, stages)
        return self._page(request, stages, self.state.render_stage)

    def v1_get_job_stage(self, request, id, acting=None):  # noqa: A002
        s = self.state.co.stages.get(id)
        if s is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_stage(s)

    def v1_list_departments(self, request, acting=None):
        st = self.state
        depts = st.co.departments
        if request.args.get("external_id"):
            depts = [d for d in depts if d["external_id"] == request.args["external_id"]]
        if request.args.get("render_as") == "tree":
            roots = [d for d in depts if d["parent_id"] is None]
            return self._page(request, roots, st.render_department_tree)
        return self._page(request, depts, st.render_department)

    def v1_get_department(self, request, id, acting=None):  # noqa: A002
        d = self.state.co.department(id)
        if d is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_department(d)

    def v1_list_offices(self, request, acting=None):
        offices = self.state.co.offices
        if request.args.get("external_id"):
            offices = [o for o in offices if o["external_id"] == request.args["external_id"]]
        return self._page(request, offices, self.state.render_office)

    def v1_get_office(self, request, id, acting=None):  # noqa: A002
        o = self.state.co.office(id)
        if o is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_office(o)

    def v1_list_users(self, request, acting=None):
        args = request.args
        ca, cb = time_param(args, "created_after"), time_param(args, "created_before")
        ua, ub = time_param(args, "updated_after"), time_param(args, "updated_before")
        email = (args.get("email") or "").lower()
        emp = args.get("employee_id")
        users = [
            u
            for u in self.state.co.users
            if in_window(u["created_at"], ca, cb)
            and in_window(u["updated_at"], ua, ub)
            and (not email or u["email"].lower() == email)
            and (not emp or u["employee_id"] == emp)
        ]
        return self._page(request, users, self.state.render_user)

    def v1_get_user(self, request, id, acting=None):  # noqa: A002
        u = self.state.co.user(id)
        if u is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_user(u)

    def v1_list_user_roles(self, request, acting=None):
        return self._page(request, self.state.co.user_roles, dict, next_only=True)

    def v1_list_custom_fields(self, request, field_type=None, acting=None):
        fields = self.state.co.custom_fields
        if field_type is not None:
            valid = (
                "job", "candidate", "application", "offer", "opening", "rejection_question",
                "referral_question", "user_attribute",
            )  # fmt: skip
            if field_type not in valid:
                raise ApiError(404, NOT_FOUND)
            fields = [f for f in fields if f["field_type"] == field_type]
        if request.args.get("include_inactive", "").lower() != "true":
            fields = [f for f in fields if f["active"]]
        return self._page(request, fields, self.state.render_custom_field, next_only=True)

    def v1_get_custom_field(self, request, id, acting=None):  # noqa: A002
        f = self.state.co.custom_fields_by_id.get(id)
        if f is None:
            raise ApiError(404, NOT_FOUND)
        return self.state.render_custom_field(f)

    def v1_list_sources(self, request, acting=None):
        return self._page(request, self.state.co.sources, dict)

    def v1_list_candidate_tags(self, request, acting=None):
        return self._page(request, self.state.co.candidate_tags, dict)
