"""Harvest v3 (``/v3/...``): Bearer tokens with scopes, cursor paging, id-descending order,
``created_at``/``updated_at`` pipe filters and a fixed 30-second rate window."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox.atsdata import parse_iso
from integrations.sandbox.greenhouse.contract import CURSOR_ERROR, V3_RESOURCES, ApiError
from integrations.sandbox.greenhouse.params import read_json
from integrations.sandbox.greenhouse.state import GreenhouseState

V3_MAP = Map(
    [Rule(f"/v3/{r}", methods=["GET"], endpoint=f"list:{r}") for r in V3_RESOURCES]
    + [Rule("/v3/notes", methods=["POST"], endpoint="create:notes")],
    strict_slashes=False,
)


class HarvestV3Mixin:
    """The v3 endpoints of :class:`GreenhouseApp`."""

    state: GreenhouseState

    def v3(self, request: Request) -> Response:
        st = self.state
        auth = request.headers.get("Authorization", "")
        tok = None
        if auth.lower().startswith("bearer "):
            tok = st.tokens.get(auth[7:].strip())
        if tok is None or tok["exp"] <= time.time():
            return json_response({"errors": ["Unauthorized: invalid or expired token"]}, 401)
        allowed, limit, remaining, reset = st.v3_limiter.hit(tok["client_id"])
        headers = {
            "X-RateLimit-Limit": limit,
            "X-RateLimit-Remaining": remaining,
            "X-RateLimit-Reset": int(reset),
        }
        if not allowed:
            headers["Retry-After"] = max(1, int(reset - time.time() + 0.999))
            return json_response({"errors": ["Rate limit exceeded"]}, 429, headers)
        try:
            adapter = V3_MAP.bind_to_environ(request.environ)
            try:
                endpoint, _ = adapter.match()
            except HTTPException:
                raise ApiError(404, {"errors": ["Not found"]}) from None
            verb, resource = endpoint.split(":")
            scope = f"harvest:{resource}:{'list' if verb == 'list' else 'create'}"
            if tok["scopes"] is not None and scope not in tok["scopes"]:
                raise ApiError(403, {"errors": [f"Missing required scope: {scope}"]})
            with st.lock:
                if verb == "create":
                    response = self.v3_create_note(request, tok)
                else:
                    response = self.v3_list(request, resource)
        except ApiError as exc:
            response = json_response(exc.body, exc.status)
        for k, v in headers.items():
            response.headers[k] = str(v)
        return response

    def _v3_source(self, resource: str) -> tuple[list, Callable, Callable]:
        """(id-sorted records or ids, id getter, renderer) for a v3 resource."""
        st, co = self.state, self.state.co
        if resource == "applications":
            return st._apps_sorted, lambda i: i, lambda i: st.render_application(co.applications[i])
        if resource == "candidates":
            return st._cands_sorted, lambda i: i, lambda i: st.render_candidate(co.candidates[i])
        if resource == "notes":
            notes = [
                {**n, "candidate_id": c["id"]}
                for c in co.candidates.values()
                if c["notes"]
                for n in c["notes"]
            ]
            notes.sort(key=lambda n: n["id"])

            def render_note(n):
                out = st.render_note(n)
                out["candidate_id"] = n["candidate_id"]
                return out

            return notes, lambda n: n["id"], render_note
        table = {
            "departments": (co.departments, st.render_department),
            "offices": (co.offices, st.render_office),
            "jobs": (co.jobs, st.render_job),
            "job_stages": ([co.stages[k] for k in sorted(co.stages)], st.render_stage),
            "users": (co.users, st.render_user),
            "user_roles": (co.user_roles, dict),
            "custom_fields": (co.custom_fields, st.render_custom_field),
            "sources": (co.sources, dict),
            "tags": (co.candidate_tags, dict),
        }
        items, render = table[resource]
        return sorted(items, key=lambda x: x["id"]), lambda x: x["id"], render

    @staticmethod
    def _pipe_filter(name: str, raw: str | None):
        if raw is None or raw == "":
            return None
        parts = raw.split("|")
        if len(parts) % 2:
            raise ApiError(422, {"errors": [f"Invalid {name} filter: expected op|timestamp pairs"]})
        conds = []
        for op, value in zip(parts[::2], parts[1::2], strict=True):
            if op not in ("gte", "gt", "lte", "lt", "eq"):
                raise ApiError(422, {"errors": [f"Invalid {name} operator: {op}"]})
            try:
                conds.append((op, parse_iso(value)))
            except ValueError:
                raise ApiError(422, {"errors": [f"Invalid {name} timestamp: {value}"]}) from None
        return tuple(conds)

    @staticmethod
    def _match_pipe(ts: float | None, conds) -> bool:
        if conds is None:
            return True
        if ts is None:
            return False
        for op, v in conds:
            if (
                (op == "gte" and ts < v)
                or (op == "gt" and ts <= v)
                or (op == "lte" and ts > v)
                or (op == "lt" and ts >= v)
                or (op == "eq" and ts != v)
            ):
                return False
        return True

    def _v3_times(self, resource: str, rec) -> tuple[float | None, float | None]:
        co = self.state.co
        if resource == "applications":
            a = co.applications[rec]
            return a["applied_at"], a["last_activity_at"]
        if resource == "candidates":
            c = co.candidates[rec]
            return c["created_at"], c["updated_at"]
        return rec.get("created_at"), rec.get("updated_at", rec.get("created_at"))

    V3_FILTERS = {"per_page", "created_at", "updated_at", "ids", "job_id", "candidate_id",
                  "status", "email"}  # fmt: skip

    def v3_list(self, request: Request, resource: str) -> Response:
        st = self.state
        args = request.args
        if "cursor" in args:
            if len(list(args.items(multi=True))) > 1:
                raise ApiError(422, CURSOR_ERROR)
            try:
                cur = json.loads(base64.urlsafe_b64decode(args["cursor"] + "=" * 4))
                filters, per_page, after = cur["f"], int(cur["pp"]), int(cur["a"])
                if cur["r"] != resource:
                    raise ValueError
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise ApiError(422, {"errors": ["Invalid cursor"]}) from None
        else:
            unknown = [k for k in args if k not in self.V3_FILTERS]
            if unknown:
                raise ApiError(422, {"errors": [f"Unknown query parameter: {unknown[0]}"]})
            filters = {k: args.get(k) for k in args if k != "per_page"}
            try:
                per_page = int(args.get("per_page", 100))
            except ValueError:
                raise ApiError(422, {"errors": ["per_page must be an integer"]}) from None
            if not 1 <= per_page <= 500:
                raise ApiError(422, {"errors": ["per_page must be between 1 and 500"]})
            after = None
        if filters.get("created_at") and filters.get("updated_at"):
            raise ApiError(422, {"errors": ["Do not pass created_at and updated_at together."]})
        created = self._pipe_filter("created_at", filters.get("created_at"))
        updated = self._pipe_filter("updated_at", filters.get("updated_at"))
        items, get_id, render = self._v3_source(resource)

        def int_set(name):
            raw = filters.get(name)
            if not raw:
                return None
            try:
                return {int(x) for x in str(raw).split(",") if x.strip()}
            except ValueError:
                raise ApiError(422, {"errors": [f"{name} must be integers"]}) from None

        ids_f, job_f, cand_f = int_set("ids"), int_set("job_id"), int_set("candidate_id")
        status = filters.get("status")
        email = (filters.get("email") or "").lower()
        co = st.co

        def keep(rec) -> bool:
            rid = get_id(rec)
            if ids_f is not None and rid not in ids_f:
                return False
            c_ts, u_ts = self._v3_times(resource, rec)
            if not self._match_pipe(c_ts, created) or not self._match_pipe(u_ts, updated):
                return False
            if resource == "applications":
                a = co.applications[rec]
                if job_f is not None and a["job_id"] not in job_f:
                    return False
                if cand_f is not None and a["candidate_id"] not in cand_f:
                    return False
                if status and a["status"] != status:
                    return False
            elif resource == "job_stages":
                if job_f is not None and rec["job_id"] not in job_f:
                    return False
            elif resource == "notes":
                if cand_f is not None and rec["candidate_id"] not in cand_f:
                    return False
            elif resource == "jobs":
                if status and rec["status"] != status:
                    return False
            elif resource == "candidates":
                c = co.candidates[rec]
                if email and not any(e["value"].lower() == email for e in c["email_addresses"]):
                    return False
            elif resource == "users" and email and rec["email"].lower() != email:
                return False
            return True

        key = ("v3", resource, tuple(sorted(filters.items())))
        if resource in ("applications", "candidates"):
            ordered = st.cached_ids(key, lambda: [r for r in reversed(items) if keep(r)])
        else:
            ordered = [r for r in reversed(items) if keep(r)]
        # ordered is id-descending; find the first record with id < after
        start = 0
        if after is not None:
            lo, hi = 0, len(ordered)
            while lo < hi:
                mid = (lo + hi) // 2
                if get_id(ordered[mid]) < after:
                    hi = mid
                else:
                    lo = mid + 1
            start = lo
        chunk = ordered[start : start + per_page]
        resp = json_response([render(r) for r in chunk])
        if start + per_page < len(ordered) and chunk:
            cursor = (
                base64.urlsafe_b64encode(
                    json.dumps(
                        {"r": resource, "f": filters, "pp": per_page, "a": get_id(chunk[-1])},
                        separators=(",", ":"),
                    ).encode()
                )
                .decode()
                .rstrip("=")
            )
            resp.headers["Link"] = f'<{request.base_url}?cursor={cursor}>; rel="next"'
        return resp

    def v3_create_note(self, request: Request, tok: dict) -> Response:
        st = self.state
        body = read_json(request)
        try:
            cid = int(body.get("candidate_id"))
        except (TypeError, ValueError):
            raise ApiError(422, {"errors": ["candidate_id is required"]}) from None
        if cid not in st.co.candidates:
            raise ApiError(404, {"errors": ["Candidate not found"]})
        user_id = tok["user_id"] or body.get("user_id")
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            raise ApiError(
                422, {"errors": ["user_id is required when the token has no acting user"]}
            ) from None
        if st.co.user(user_id) is None:
            raise ApiError(422, {"errors": ["user_id does not match a user"]})
        text = body.get("body")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(422, {"errors": ["body can't be blank"]})
        vis = body.get("visibility")
        if vis not in ("admin_only", "private", "public"):
            raise ApiError(
                422, {"errors": ["visibility must be one of: admin_only, private, public"]}
            )
        note = st.add_note(cid, user_id, text, vis, source="v3")
        out = st.render_note(note)
        out["candidate_id"] = cid
        return json_response(out, 201)
