"""The sandbox control API of the fake Lever (``/_sandbox/api/...``, no auth) and the
screen's form posts."""

from __future__ import annotations

import urllib.parse

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response, redirect
from integrations.sandbox.lever.contract import LeverError, bad_request, not_found, read_json
from integrations.sandbox.lever.state import LeverState

SANDBOX_MAP = Map(
    [
        Rule("/_sandbox/", methods=["GET"], endpoint="ui_index"),
        Rule("/_sandbox/ui/<action>", methods=["POST"], endpoint="ui_action"),
        Rule("/_sandbox/opportunities/<opp>", methods=["GET"], endpoint="ui_opportunity"),
        Rule("/_sandbox/files/<file>", methods=["GET"], endpoint="ui_file"),
        Rule("/_sandbox/api/opportunities", methods=["GET"], endpoint="api_opps"),
        Rule("/_sandbox/api/opportunities", methods=["POST"], endpoint="api_create"),
        Rule("/_sandbox/api/opportunities/<opp>/<action>", methods=["POST"], endpoint="api_action"),
        Rule("/_sandbox/api/stages", methods=["GET"], endpoint="api_stages"),
        Rule("/_sandbox/api/postings", methods=["GET"], endpoint="api_postings"),
        Rule("/_sandbox/api/webhook", methods=["GET", "POST"], endpoint="api_webhook"),
        Rule("/_sandbox/api/credentials", methods=["POST"], endpoint="api_credentials"),
        Rule("/_sandbox/api/rate_limit", methods=["POST"], endpoint="api_rate_limit"),
        Rule("/_sandbox/api/oauth", methods=["POST"], endpoint="api_oauth"),
        Rule("/_sandbox/api/faults", methods=["GET", "POST", "DELETE"], endpoint="api_faults"),
        Rule("/_sandbox/api/writes", methods=["GET"], endpoint="api_writes"),
        Rule("/_sandbox/api/deliveries", methods=["GET"], endpoint="api_deliveries"),
        Rule(
            "/_sandbox/api/deliveries/<int:index>/redeliver",
            methods=["POST"],
            endpoint="api_redeliver",
        ),  # fmt: skip
        Rule("/_sandbox/api/reset", methods=["POST"], endpoint="api_reset"),
    ],
    strict_slashes=False,
)


class ControlMixin:
    """The ``/_sandbox/`` routes of :class:`LeverApp`."""

    state: LeverState

    # sandbox -------------------------------------------------------------------------------------
    def sandbox(self, request: Request) -> Response:
        adapter = SANDBOX_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return json_response({"error": "not found"}, 404)
        try:
            return getattr(self, f"sb_{endpoint}")(request, **values)
        except LeverError as exc:
            if endpoint == "ui_action":
                back = request.form.get("back") or f"{request.script_root}/_sandbox/"
                sep = "&" if "?" in back else "?"
                return redirect(f"{back}{sep}{urllib.parse.urlencode({'flash': exc.message})}")
            return json_response({"code": exc.code, "message": exc.message}, exc.status)

    def search(self, q: str = "", posting_id: str = "") -> list[dict]:
        st = self.state
        q = q.strip().lower()
        out = []
        for _, oid in reversed(st._sorted_keys):
            o = st.opps[oid]
            if posting_id and o["posting"] != posting_id:
                continue
            if q and q not in o["name"].lower() and not any(q in e.lower() for e in o["emails"]) \
                    and q != oid:  # fmt: skip
                continue
            out.append(o)
        return out

    def _summary(self, o: dict) -> dict:
        st = self.state
        return {
            "id": o["id"], "name": o["name"], "email": o["emails"][0] if o["emails"] else None,
            "posting": o["posting"], "posting_text": st.posting_by_id[o["posting"]]["text"],
            "stage": o["stage"], "stage_text": st.stage_by_id[o["stage"]]["text"],
            "archiveReason": o["archiveReason"], "updatedAt": o["updatedAt"],
        }  # fmt: skip

    def sb_api_opps(self, request: Request) -> Response:
        args = request.args
        page = max(1, int(args.get("page", 1)))
        per = min(500, max(1, int(args.get("per_page", 50))))
        with self.state.lock:
            found = self.search(args.get("q", ""), args.get("posting_id", ""))
            items = [self._summary(o) for o in found[(page - 1) * per : page * per]]
        return json_response({"total": len(found), "page": page, "per_page": per, "items": items})

    def sb_api_create(self, request: Request) -> Response:
        b = read_json(request)
        if not b.get("name") or not b.get("posting_id"):
            raise bad_request("name and posting_id are required")
        o = self.state.create_opportunity(
            b["name"], b.get("email"), b["posting_id"], source="control"
        )
        return json_response({"data": self._summary(o)}, 201)

    def _action(self, opp: str, action: str, data) -> dict:
        st = self.state
        if action == "stage":
            stage = data.get("stage") or data.get("stage_id")
            if not stage and data.get("stage_name"):
                stage = st.stage_by_name.get(data["stage_name"])
            if not stage:
                raise bad_request("stage is required")
            return st.change_stage(opp, stage, source="control")
        if action == "archive":
            reason = data.get("reason") or st.archive_reasons[0]["id"]
            return st.archive(opp, reason, source="control")
        if action == "unarchive":
            return st.archive(opp, None, source="control")
        if action == "hire":
            return st.archive(opp, st.hired_reason, source="control")
        if action == "delete":
            st.delete_opportunity(opp, source="control")
            return {"id": opp, "deleted": True}
        raise LeverError(404, "ResourceNotFound", f"Unknown action {action}")

    def sb_api_action(self, request: Request, opp: str, action: str) -> Response:
        o = self._action(opp, action, read_json(request))
        with self.state.lock:
            return json_response({"data": self._summary(o) if "stage" in o else o})

    def sb_api_stages(self, request: Request) -> Response:
        return json_response(self.state.stages)

    def sb_api_postings(self, request: Request) -> Response:
        return json_response([{"id": p["id"], "text": p["text"]} for p in self.state.postings])

    def sb_api_webhook(self, request: Request) -> Response:
        st = self.state
        if request.method == "POST":
            b = read_json(request)
            return json_response(st.configure_webhook(b.get("url"), b.get("signature_token"),
                                                      b.get("enabled", True), b.get("events")))  # fmt: skip
        return json_response(st.webhook)

    def sb_api_credentials(self, request: Request) -> Response:
        b = read_json(request)
        if b.get("api_key"):
            permissions = b.get("permissions")
            if permissions is not None and not isinstance(permissions, list):
                raise bad_request("permissions must be a list of scope names")
            self.state.add_api_key(b["api_key"], permissions)
        if b.get("client_id") and b.get("client_secret"):
            self.state.add_oauth_client(b["client_id"], b["client_secret"])
        return json_response({"ok": True}, 201)

    def sb_api_rate_limit(self, request: Request) -> Response:
        b = read_json(request)
        self.state.set_rate_limit(b.get("rate"), int(b.get("burst", 20)))
        return json_response({"rate": self.state.bucket.rate, "burst": self.state.bucket.burst})

    def sb_api_oauth(self, request: Request) -> Response:
        b = read_json(request)
        if "deny" in b:
            self.state.oauth_deny = bool(b["deny"])
        if "token_lifetime" in b:
            self.state.token_lifetime = float(b["token_lifetime"])
        return json_response(
            {"deny": self.state.oauth_deny, "token_lifetime": self.state.token_lifetime}
        )

    def sb_api_faults(self, request: Request) -> Response:
        st = self.state
        if request.method == "POST":
            b = read_json(request)
            rule = st.inject_fault(b.get("path_prefix", "/"), b.get("status", 500),
                                   int(b.get("count", 1)), float(b.get("delay", 0)),
                                   method=b.get("method"), ratio=float(b.get("ratio", 1.0)),
                                   after=bool(b.get("after", False)))  # fmt: skip
            return json_response(rule, 201)
        if request.method == "DELETE":
            st.faults.clear()
        return json_response(st.faults.rules)

    def sb_api_writes(self, request: Request) -> Response:
        with self.state.lock:
            return json_response(self.state.writes)

    def sb_api_deliveries(self, request: Request) -> Response:
        return json_response(list(self.state.deliveries))

    def sb_api_redeliver(self, request: Request, index: int) -> Response:
        if not 0 <= index < len(self.state.deliveries):
            raise not_found("deliveries", index)
        entry = self.state.redeliver(index)
        return json_response({"event": entry.get("event"), "token": entry.get("token")}, 201)

    def sb_api_reset(self, request: Request) -> Response:
        self.state.reset()
        return json_response({"ok": True})

    def sb_ui_action(self, request: Request, action: str) -> Response:
        form = request.form
        back = form.get("back") or f"{request.script_root}/_sandbox/"
        if not back.startswith("/"):
            back = f"{request.script_root}/_sandbox/"
        if action == "create":
            self.state.create_opportunity(form.get("name") or "New Candidate",
                                          form.get("email") or None,
                                          form.get("posting_id") or self.state.postings[0]["id"],
                                          source="control")  # fmt: skip
        else:
            self._action(form.get("opportunity_id", ""), action, form)
        return redirect(back)
