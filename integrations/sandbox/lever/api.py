"""The Lever API (``/v1/...``): API key or bearer token, offset paging, opportunities,
notes, files, stages, postings, users and archive reasons. A note or file write by a key not
granted ``notes:write:admin`` / ``files:write:admin`` (or a token without that scope), and a
note or file read by a token without ``notes:read:admin`` / ``files:read:admin``, gets Lever's
403 ``{code, message}``."""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import time

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import json_response
from integrations.sandbox._files import download_response
from integrations.sandbox.lever.contract import (
    MAX_FILE_BYTES,
    LeverError,
    bad_request,
    forbidden,
    ms_param,
    not_found,
    read_json,
)
from integrations.sandbox.lever.state import LeverState

# ---------------------------------------------------------------------------------------------

LEVER_MAP = Map(
    [
        Rule("/v1/opportunities", methods=["GET"], endpoint="list_opps"),
        Rule("/v1/opportunities", methods=["POST"], endpoint="create_opp"),
        Rule("/v1/opportunities/deleted", methods=["GET"], endpoint="deleted_opps"),
        Rule("/v1/opportunities/<opp>", methods=["GET"], endpoint="get_opp"),
        Rule("/v1/opportunities/<opp>/notes", methods=["GET"], endpoint="list_notes"),
        Rule("/v1/opportunities/<opp>/notes", methods=["POST"], endpoint="create_note"),
        Rule("/v1/opportunities/<opp>/files", methods=["GET"], endpoint="list_files"),
        Rule("/v1/opportunities/<opp>/files", methods=["POST"], endpoint="upload_file"),
        Rule(
            "/v1/opportunities/<opp>/files/<file>/download",
            methods=["GET"],
            endpoint="download_file",
        ),  # fmt: skip
        Rule("/v1/opportunities/<opp>/stage", methods=["PUT"], endpoint="put_stage"),
        Rule("/v1/opportunities/<opp>/archived", methods=["PUT"], endpoint="put_archived"),
        Rule("/v1/stages", methods=["GET"], endpoint="list_stages"),
        Rule("/v1/stages/<ident>", methods=["GET"], endpoint="get_stage"),
        Rule("/v1/postings", methods=["GET"], endpoint="list_postings"),
        Rule("/v1/postings/<ident>", methods=["GET"], endpoint="get_posting"),
        Rule("/v1/users", methods=["GET"], endpoint="list_users"),
        Rule("/v1/users/<ident>", methods=["GET"], endpoint="get_user"),
        Rule("/v1/archive_reasons", methods=["GET"], endpoint="list_reasons"),
        Rule("/v1/archive_reasons/<ident>", methods=["GET"], endpoint="get_reason"),
    ],
    strict_slashes=False,
)


class ApiMixin:
    """The ``/v1`` endpoints of :class:`LeverApp`."""

    state: LeverState

    # API -----------------------------------------------------------------------------------------
    def _credential(self, request: Request) -> str:
        st = self.state
        auth = request.authorization
        if auth and auth.type == "basic":
            if auth.username in st.api_keys and not auth.password:
                return f"key:{auth.username}"
        elif auth and auth.type == "bearer":
            tok = st.access_tokens.get(auth.token or "")
            if tok and tok["exp"] > time.time():
                return f"oauth:{tok['client_id']}"
        raise LeverError(401, "UnauthorizedError", "Invalid or missing credentials")

    def api(self, request: Request) -> Response:
        cred = self._credential(request)
        if not self.state.bucket.take(cred):
            raise LeverError(429, "TooManyRequests", "Rate limit exceeded, retry later")
        adapter = LEVER_MAP.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            raise LeverError(404, "ResourceNotFound", f"{request.path} was not found") from None
        auth = request.authorization
        missing = self.state.missing_permission(
            endpoint,
            api_key=auth.username if auth is not None and auth.type == "basic" else None,
            token=auth.token if auth is not None and auth.type == "bearer" else None,
        )
        if missing:
            raise forbidden(missing)
        return getattr(self, f"h_{endpoint}")(request, **values)

    def _limit(self, args) -> int:
        raw = args.get("limit", "100")
        try:
            limit = int(raw)
        except ValueError:
            raise bad_request("limit must be an integer between 1 and 100") from None
        if not 1 <= limit <= 100:
            raise bad_request("limit must be an integer between 1 and 100")
        return limit

    def _page(self, request: Request, keys: list[tuple], fetch, qhash: str) -> Response:
        """Page through ``keys`` (sorted (createdAt, id) tuples) using issued offset tokens."""
        st = self.state
        limit = self._limit(request.args)
        offset = request.args.get("offset")
        start = 0
        if offset:
            issued = st._offsets.get(offset)
            if issued is None or issued[0] != qhash:
                raise bad_request("Invalid offset token")
            start = bisect.bisect_right(keys, issued[1])
        chunk = keys[start : start + limit]
        body: dict = {"data": [fetch(k) for k in chunk]}
        has_next = start + limit < len(keys)
        if has_next:
            last = chunk[-1]
            token = f"0.{last[0] or 0}.{last[1]}"
            sig = hashlib.sha256(f"{st._secret}{qhash}{token}".encode()).hexdigest()[:8]
            token = f"{token}.{sig}"
            if len(st._offsets) > 200000:
                st._offsets.clear()
            st._offsets[token] = (qhash, last)
            body["next"] = token
        body["hasNext"] = has_next
        return json_response(body)

    @staticmethod
    def _qhash(request: Request, path: str) -> str:
        items = sorted(
            (k, v) for k, v in request.args.items(multi=True) if k not in ("offset", "limit")
        )
        return hashlib.sha256(json.dumps([path, items]).encode()).hexdigest()[:16]

    def h_list_opps(self, request: Request) -> Response:
        st, args = self.state, request.args
        expand = set(args.getlist("expand"))
        rng = {}
        for f in ("updated_at", "created_at", "archived_at", "advanced_at"):
            rng[f] = (ms_param(args, f"{f}_start"), ms_param(args, f"{f}_end"))
        stage_ids = set(args.getlist("stage_id"))
        posting_ids = set(args.getlist("posting_id"))
        tags = {t.lower() for t in args.getlist("tag")}
        emails = {e.lower() for e in args.getlist("email")}
        contacts = set(args.getlist("contact_id"))
        origins = set(args.getlist("origin"))
        reasons = set(args.getlist("archive_reason_id"))
        archived = args.get("archived")
        if archived not in (None, "true", "false"):
            raise bad_request("archived must be true or false")
        conf = args.get("confidentiality", "non-confidential")
        if conf not in ("non-confidential", "confidential", "all"):
            raise bad_request("confidentiality must be one of non-confidential, confidential, all")
        field_of = {"updated_at": "updatedAt", "created_at": "createdAt",
                    "archived_at": "archivedAt", "advanced_at": "lastAdvancedAt"}  # fmt: skip
        qhash = self._qhash(request, "opportunities")

        def keep(o: dict) -> bool:
            for f, (lo, hi) in rng.items():
                if lo is None and hi is None:
                    continue
                v = o[field_of[f]]
                if v is None or (lo is not None and v < lo) or (hi is not None and v > hi):
                    return False
            if stage_ids and o["stage"] not in stage_ids:
                return False
            if posting_ids and o["posting"] not in posting_ids:
                return False
            if archived == "true" and not o["archiveReason"]:
                return False
            if archived == "false" and o["archiveReason"]:
                return False
            if conf != "all" and o["confidentiality"] != conf:
                return False
            if tags and not tags & {t.lower() for t in o["tags"]}:
                return False
            if emails and not emails & {e.lower() for e in o["emails"]}:
                return False
            if contacts and o["contact"] not in contacts:
                return False
            if origins and o["origin"] not in origins:
                return False
            return not (reasons and o["archiveReason"] not in reasons)

        with st.lock:
            hit = st._cache.get(qhash)
            if hit and hit[0] == st.version:
                keys = hit[1]
            else:
                keys = [k for k in st._sorted_keys if keep(st.opps[k[1]])]
                st._cache[qhash] = (st.version, keys)
            return self._page(request, keys, lambda k: st.render_opp(st.opps[k[1]], expand), qhash)

    def h_get_opp(self, request: Request, opp: str) -> Response:
        st = self.state
        with st.lock:
            o = st.get_opp(opp)
            return json_response({"data": st.render_opp(o, set(request.args.getlist("expand")))})

    def h_create_opp(self, request: Request) -> Response:
        st = self.state
        perform_as = st.check_user(request.args.get("perform_as"), required=True)
        body = read_json(request)
        postings = body.get("postings") or []
        if len(postings) != 1:
            raise bad_request("postings must contain exactly one posting id")
        if not body.get("name"):
            raise bad_request("name is required")
        emails = body.get("emails") or []
        opp = st.create_opportunity(body["name"], emails[0] if emails else None, postings[0],
                                    perform_as, source="api")  # fmt: skip
        with st.lock:
            return json_response({"data": st.render_opp(opp, set())}, 201)

    def h_deleted_opps(self, request: Request) -> Response:
        st = self.state
        lo, hi = (
            ms_param(request.args, "deleted_at_start"),
            ms_param(request.args, "deleted_at_end"),
        )
        with st.lock:
            rows = {
                (d["deletedAt"], d["id"]): d
                for d in st.deleted
                if (lo is None or d["deletedAt"] >= lo) and (hi is None or d["deletedAt"] <= hi)
            }
            keys = sorted(rows)
            return self._page(request, keys, lambda k: rows[k], self._qhash(request, "deleted"))

    def h_list_notes(self, request: Request, opp: str) -> Response:
        st = self.state
        with st.lock:
            o = st.get_opp(opp)
            rows = {(n["createdAt"], n["id"]): n for n in o["notes"]}
            return self._page(request, sorted(rows), lambda k: rows[k],
                              self._qhash(request, f"notes:{opp}"))  # fmt: skip

    def h_create_note(self, request: Request, opp: str) -> Response:
        st = self.state
        st.get_opp(opp)
        perform_as = st.check_user(request.args.get("perform_as"))
        body = read_json(request)
        value = body.get("value")
        if not isinstance(value, str) or not value.strip():
            raise bad_request("value is required")
        score = body.get("score")
        if score is not None and score not in (1, 2, 3, 4):
            raise bad_request("score must be between 1 and 4")
        created = body.get("createdAt")
        if created is not None and (
            not isinstance(created, int) or created > time.time() * 1000 + 1000
        ):
            raise bad_request("createdAt must be a past timestamp in milliseconds")
        note = st.add_note(opp, value, perform_as, bool(body.get("secret", False)), score,
                           source="api", at=created / 1000 if created else None,
                           note_id=request.args.get("note_id") or None)  # fmt: skip
        return json_response({"data": {"noteId": note["id"]}}, 201)

    def h_list_files(self, request: Request, opp: str) -> Response:
        st = self.state
        with st.lock:
            o = st.get_opp(opp)
            rows = {(f["uploadedAt"], f["id"]): f for f in o["files"]}
            return self._page(request, sorted(rows), lambda k: rows[k],
                              self._qhash(request, f"files:{opp}"))  # fmt: skip

    def h_upload_file(self, request: Request, opp: str) -> Response:
        st = self.state
        st.get_opp(opp)
        perform_as = st.check_user(request.args.get("perform_as"), required=True)
        if (request.content_length or 0) > MAX_FILE_BYTES + 64 * 1024:
            raise LeverError(413, "RequestEntityTooLarge", "File exceeds the 30 MB limit")
        if not (request.mimetype or "").startswith("multipart/form-data"):
            raise bad_request("Files must be uploaded as multipart/form-data")
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise bad_request("A file is required in the 'file' field")
        size, chunks = 0, []
        while True:
            chunk = upload.stream.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise LeverError(413, "RequestEntityTooLarge", "File exceeds the 30 MB limit")
            chunks.append(chunk)
        content = b"".join(chunks)
        rec = st.add_file(opp, upload.filename, size, perform_as, source="api",
                          content_b64=base64.b64encode(content).decode("ascii"),
                          content_type=upload.mimetype or None)  # fmt: skip
        return json_response({"data": rec})

    def h_download_file(self, request: Request, opp: str, file: str) -> Response:
        st = self.state
        with st.lock:
            o = st.get_opp(opp)
            rec = next((f for f in o["files"] if f["id"] == file), None)
            blob = st.file_blobs.get(file)
        if rec is None:
            raise not_found("files", file)
        if blob is None or blob["content"] is None:
            raise LeverError(422, "UnprocessableEntity", "File cannot be downloaded")
        return download_response(blob["content"], blob["content_type"], rec["name"])

    def h_put_stage(self, request: Request, opp: str) -> Response:
        st = self.state
        st.get_opp(opp)
        perform_as = st.check_user(request.args.get("perform_as"))
        body = read_json(request)
        if not body.get("stage"):
            raise bad_request("stage is required")
        o = st.change_stage(opp, body["stage"], perform_as, source="api")
        with st.lock:
            return json_response({"data": st.render_opp(o, set())})

    def h_put_archived(self, request: Request, opp: str) -> Response:
        st = self.state
        st.get_opp(opp)
        perform_as = st.check_user(request.args.get("perform_as"))
        body = read_json(request)
        if "reason" not in body:
            raise bad_request("reason is required (null to unarchive)")
        o = st.archive(opp, body["reason"], perform_as, source="api")
        with st.lock:
            return json_response({"data": st.render_opp(o, set())})

    def _simple_list(self, request: Request, rows: list[dict], name: str) -> Response:
        keyed = {(i, r["id"]): r for i, r in enumerate(rows)}
        return self._page(request, sorted(keyed), lambda k: keyed[k], self._qhash(request, name))

    def h_list_stages(self, request: Request) -> Response:
        return self._simple_list(request, self.state.stages, "stages")

    def h_get_stage(self, request: Request, ident: str) -> Response:
        s = self.state.stage_by_id.get(ident)
        if s is None:
            raise not_found("stages", ident)
        return json_response({"data": s})

    def h_list_postings(self, request: Request) -> Response:
        args = request.args
        rows = self.state.postings
        for param, getter in (
            ("state", lambda p: p["state"]),
            ("team", lambda p: p["categories"]["team"]),
            ("department", lambda p: p["categories"]["department"]),
            ("location", lambda p: p["categories"]["location"]),
            ("commitment", lambda p: p["categories"]["commitment"]),
        ):
            wanted = set(args.getlist(param))
            if wanted:
                rows = [p for p in rows if getter(p) in wanted]
        return self._simple_list(request, rows, "postings")

    def h_get_posting(self, request: Request, ident: str) -> Response:
        p = self.state.posting_by_id.get(ident)
        if p is None:
            raise not_found("postings", ident)
        return json_response({"data": p})

    def h_list_users(self, request: Request) -> Response:
        rows = self.state.users
        email = request.args.get("email")
        if email:
            rows = [u for u in rows if u["email"].lower() == email.lower()]
        return self._simple_list(request, rows, "users")

    def h_get_user(self, request: Request, ident: str) -> Response:
        u = self.state.users_by_id.get(ident)
        if u is None:
            raise not_found("users", ident)
        return json_response({"data": u})

    def h_list_reasons(self, request: Request) -> Response:
        rows = self.state.archive_reasons
        if request.args.get("type"):
            rows = [r for r in rows if r["type"] == request.args["type"]]
        return self._simple_list(request, rows, "archive_reasons")

    def h_get_reason(self, request: Request, ident: str) -> Response:
        r = self.state.reason_by_id.get(ident)
        if r is None:
            raise not_found("archive_reasons", ident)
        return json_response({"data": r})
