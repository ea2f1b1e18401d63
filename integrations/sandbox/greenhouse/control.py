"""The sandbox control API (``/_sandbox/api/...``, no auth, loopback use only)."""

from __future__ import annotations

import urllib.parse

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response, redirect
from integrations.sandbox.atsdata import iso
from integrations.sandbox.greenhouse.contract import ApiError, validation_error
from integrations.sandbox.greenhouse.params import int_param, read_json
from integrations.sandbox.greenhouse.state import GreenhouseState

SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/ui/<action>", methods=["POST"], endpoint="ui_action"),
        Rule("/_sandbox/candidates/<int:id>", methods=["GET"], endpoint="ui_candidate"),
        Rule("/_sandbox/attachments/<int:id>", methods=["GET"], endpoint="ui_attachment"),
        Rule("/_sandbox/api/jobs", methods=["GET"], endpoint="api_jobs"),
        Rule("/_sandbox/api/stages", methods=["GET"], endpoint="api_stages"),
        Rule("/_sandbox/api/candidates", methods=["GET"], endpoint="api_candidates"),
        Rule("/_sandbox/api/candidates", methods=["POST"], endpoint="api_create_candidate"),
        Rule("/_sandbox/api/applications/<int:id>", methods=["GET"], endpoint="api_application"),
        Rule(
            "/_sandbox/api/applications/<int:id>/<action>",
            methods=["POST"],
            endpoint="api_app_action",
        ),
        Rule("/_sandbox/api/custom_fields", methods=["GET"], endpoint="api_custom_fields"),
        Rule(
            "/_sandbox/api/custom_fields/<name_key>",
            methods=["POST"],
            endpoint="api_custom_field",
        ),
        Rule("/_sandbox/api/webhook", methods=["GET", "POST"], endpoint="api_webhook"),
        Rule("/_sandbox/api/credentials", methods=["POST"], endpoint="api_credentials"),
        Rule("/_sandbox/api/rate_limit", methods=["POST"], endpoint="api_rate_limit"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/writes", methods=["GET"], endpoint="api_writes"),
        Rule("/_sandbox/api/deliveries", methods=["GET"], endpoint="api_deliveries"),
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ],
    strict_slashes=False,
)


class ControlMixin:
    """The ``/_sandbox/`` routes of :class:`GreenhouseApp` (JSON API and form posts)."""

    state: GreenhouseState

    # sandbox control -----------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return json_response({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except ApiError as exc:
            if endpoint == "ui_action":
                back = request.form.get("back") or f"{request.script_root}/_sandbox/"
                msg = exc.body.get("message") if isinstance(exc.body, dict) else str(exc.body)
                if isinstance(exc.body, dict) and exc.body.get("errors"):
                    msg = f"{msg}: {exc.body['errors'][0].get('message')}"
                sep = "&" if "?" in back else "?"
                return redirect(f"{back}{sep}{urllib.parse.urlencode({'flash': msg})}")
            return json_response(exc.body, exc.status)

    def _job_summary(self, j: dict) -> dict:
        return {
            "id": j["id"],
            "name": j["name"],
            "status": j["status"],
            "stages": [
                {"id": s["id"], "name": s["name"], "priority": s["priority"]}
                for s in self.state.co.job_stages(j["id"])
            ],
        }

    def sb_api_jobs(self, request):
        with self.state.lock:
            return json_response([self._job_summary(j) for j in self.state.co.jobs])

    def sb_api_stages(self, request):
        st = self.state
        job_id = int_param(request.args, "job_id")
        with st.lock:
            stages = (
                st.co.job_stages(job_id)
                if job_id
                else [st.co.stages[k] for k in sorted(st.co.stages)]
            )
            return json_response([st.render_stage(s) for s in stages])

    def _app_summary(self, a: dict) -> dict:
        co = self.state.co
        return {
            "id": a["id"],
            "job_id": a["job_id"],
            "job_name": co.job(a["job_id"])["name"],
            "stage_id": a["stage_id"],
            "stage_name": co.stages[a["stage_id"]]["name"],
            "status": a["status"],
            "last_activity_at": iso(a["last_activity_at"]),
        }

    def search_candidates(self, q: str = "", job_id: int | None = None, status: str = ""):
        st = self.state
        q = q.strip().lower()
        out = []
        for cid in reversed(st._cands_sorted):
            c = st.co.candidates[cid]
            apps = [st.co.applications[a] for a in c["application_ids"]]
            if job_id:
                apps = [a for a in apps if a["job_id"] == job_id]
                if not apps:
                    continue
            if status:
                apps = [a for a in apps if a["status"] == status]
                if not apps:
                    continue
            if q:
                hay = f"{c['first_name']} {c['last_name']} " + " ".join(
                    e["value"] for e in c["email_addresses"]
                )
                if q not in hay.lower() and q != str(cid):
                    continue
            out.append((c, apps))
        return out

    def sb_api_candidates(self, request):
        st, args = self.state, request.args
        page = max(1, int_param(args, "page", 1))
        per_page = min(500, max(1, int_param(args, "per_page", 50)))
        with st.lock:
            found = self.search_candidates(
                args.get("q", ""), int_param(args, "job_id"), args.get("status", "")
            )
            chunk = found[(page - 1) * per_page : page * per_page]
            items = [
                {
                    "id": c["id"],
                    "name": f"{c['first_name']} {c['last_name']}",
                    "email": c["email_addresses"][0]["value"] if c["email_addresses"] else None,
                    "applications": [self._app_summary(a) for a in apps],
                }
                for c, apps in chunk
            ]
            return json_response(
                {"total": len(found), "page": page, "per_page": per_page, "items": items}
            )

    def sb_api_create_candidate(self, request):
        body = read_json(request)
        for f in ("first_name", "last_name", "job_id"):
            if not body.get(f):
                raise validation_error(f, "can't be blank")
        cand, app = self.state.create_candidate(
            body["first_name"],
            body["last_name"],
            int(body["job_id"]),
            email=body.get("email"),
            phone=body.get("phone"),
            stage_id=body.get("stage_id"),
            source="control",
        )
        with self.state.lock:
            return json_response(
                {"candidate": self.state.render_candidate(cand),
                 "application": self.state.render_application(app)},
                201,
            )  # fmt: skip

    def sb_api_application(self, request, id):  # noqa: A002
        with self.state.lock:
            return json_response(self.state.render_application(self.state.get_application(id)))

    def _do_app_action(self, app_id: int, action: str, data) -> dict:
        st = self.state
        if action == "move":
            stage_id = data.get("stage_id") or data.get("to_stage_id")
            if not stage_id and data.get("stage_name"):
                app = st.get_application(app_id)
                stage = st.co.stage_by_name(app["job_id"], data["stage_name"])
                stage_id = stage["id"] if stage else None
            if not stage_id:
                raise validation_error("stage_id", "can't be blank")
            return st.move_application(app_id, int(stage_id), source="control")
        if action == "reject":
            reason = data.get("rejection_reason_id")
            return st.reject_application(app_id, int(reason) if reason else None, source="control")
        if action == "unreject":
            return st.unreject_application(app_id, source="control")
        if action == "hire":
            return st.hire_application(app_id, source="control")
        raise ApiError(404, {"message": f"Unknown action {action}"})

    def sb_api_app_action(self, request, id, action):  # noqa: A002
        app = self._do_app_action(id, action, read_json(request))
        with self.state.lock:
            return json_response(self.state.render_application(app))

    def sb_api_custom_fields(self, request):
        """Every custom field definition, deleted ones too (``?field_type=candidate``)."""
        st, field_type = self.state, request.args.get("field_type")
        with st.lock:
            return json_response(
                [
                    st.render_custom_field(f)
                    for f in st.co.custom_fields
                    if not field_type or f["field_type"] == field_type
                ]
            )

    def sb_api_custom_field(self, request, name_key):
        """``{"active": false}`` deletes the field (to try the "field is missing" case),
        ``{"active": true}`` restores it."""
        body = read_json(request)
        if not isinstance(body.get("active"), bool):
            raise validation_error("active", "Must be true or false")
        fdef = self.state.set_custom_field_active(name_key, body["active"], source="sandbox")
        with self.state.lock:
            return json_response(self.state.render_custom_field(fdef))

    def sb_api_webhook(self, request):
        st = self.state
        if request.method == "POST":
            body = read_json(request)
            return json_response(
                st.configure_webhook(
                    body.get("url"), body.get("secret"), bool(body.get("enabled", True))
                )
            )
        return json_response(st.webhook)

    def sb_api_credentials(self, request):
        body = read_json(request)
        if body.get("type", "v1") == "v3":
            if not body.get("client_id") or not body.get("client_secret"):
                raise validation_error("client_id", "client_id and client_secret are required")
            self.state.add_v3_client(body["client_id"], body["client_secret"], body.get("scopes"))
        else:
            if not body.get("key"):
                raise validation_error("key", "can't be blank")
            self.state.add_v1_key(body["key"], body.get("permissions"))
        return json_response({"ok": True}, 201)

    def sb_api_rate_limit(self, request):
        body = read_json(request)
        self.state.set_rate_limit(
            body.get("limit"),
            body.get("legacy_epoch_retry_after"),
            body.get("v3_limit", "unchanged"),
            body.get("legacy_epoch_lag"),
        )
        return json_response(
            {"limit": self.state.limiter.limit, "v3_limit": self.state.v3_limiter.limit,
             "legacy_epoch_retry_after": self.state.legacy_epoch_retry_after,
             "legacy_epoch_lag": self.state.legacy_epoch_lag}
        )  # fmt: skip

    def sb_api_faults(self, request):
        st = self.state
        if request.method == "POST":
            b = read_json(request)
            rule = st.inject_fault(
                b.get("path_prefix", "/"),
                b.get("status", 500),
                int(b.get("count", 1)),
                float(b.get("delay", 0)),
                method=b.get("method"),
                ratio=float(b.get("ratio", 1.0)),
                after=bool(b.get("after", False)),
            )
            return json_response(rule, 201)
        if request.method == "DELETE":
            st.faults.clear()
        return json_response(st.faults.rules)

    def sb_api_writes(self, request):
        with self.state.lock:
            return json_response(self.state.writes)

    def sb_api_deliveries(self, request):
        return json_response(list(self.state.deliveries))

    def sb_api_reset(self, request):
        self.state.reset()
        return json_response({"ok": True})

    def sb_ui_action(self, request, action):
        form = request.form
        back = form.get("back") or f"{request.script_root}/_sandbox/"
        if not back.startswith("/"):
            back = f"{request.script_root}/_sandbox/"
        if action == "create":
            self.state.create_candidate(
                form.get("first_name") or "New",
                form.get("last_name") or "Candidate",
                int(form.get("job_id") or self.state.co.jobs[0]["id"]),
                email=form.get("email") or None,
                source="control",
            )
        else:
            app_id = int(form.get("application_id", "0") or 0)
            self._do_app_action(app_id, action, form)
        return redirect(back)
