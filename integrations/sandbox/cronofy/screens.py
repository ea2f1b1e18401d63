"""The human screens of the fake Cronofy: the OAuth and Enterprise Connect sign-in pages,
the users and calendars overview and one person's calendar."""

from __future__ import annotations

import time
import urllib.parse
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request, Response

from integrations.sandbox._common import esc, redirect
from integrations.sandbox.cronofy.contract import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    ENTERPRISE_DOMAIN,
    SCOPES,
    SERVICE_ACCOUNT_SCOPES,
    stable_id,
)
from integrations.sandbox.cronofy.state import CronofyState
from integrations.sandbox.phone import page


class ScreensMixin:
    """The HTML pages of :class:`CronofyApp`."""

    state: CronofyState

    # OAuth pages -------------------------------------------------------------------------
    def authorize(self, request: Request, data_center: str, base: str, *, enterprise: bool):
        st = self.state
        args = request.form if request.method == "POST" else request.args
        client_id, redirect_uri = args.get("client_id"), args.get("redirect_uri")
        title = "Sandbox Cronofy — Enterprise Connect" if enterprise else "Sandbox Cronofy"
        if client_id not in st.clients:
            return Response(
                page(
                    title,
                    "<p class='bad'>Unknown client_id: the application is not registered.</p>",
                ),
                status=400,
                mimetype="text/html",
            )
        if not redirect_uri or not redirect_uri.startswith(("http://", "https://")):
            return Response(
                page(title, "<p class='bad'>redirect_uri is missing or not an HTTP(S) URL.</p>"),
                status=400,
                mimetype="text/html",
            )
        state_value = args.get("state")
        sep = "&" if "?" in redirect_uri else "?"

        def back(**params) -> Response:
            if state_value is not None:
                params["state"] = state_value
            return redirect(f"{redirect_uri}{sep}{urllib.parse.urlencode(params)}", 302)

        if args.get("response_type") != "code":
            return back(error="unsupported_response_type")
        scope = (args.get("scope") or "").split()
        allowed = SERVICE_ACCOUNT_SCOPES if enterprise else SCOPES
        if not scope or not set(scope) <= allowed:
            return back(error="invalid_scope")
        delegated = (args.get("delegated_scope") or "").split()
        if enterprise and (not delegated or not set(delegated) <= SCOPES):
            return back(error="invalid_scope")
        if request.method == "GET":
            return self.authorize_page(request, data_center, enterprise, title)
        if args.get("decision") != "allow":
            return back(error="access_denied")
        if enterprise:
            domain = args.get("domain") or ENTERPRISE_DOMAIN
            service_id = stable_id("ser_", domain, data_center, client_id)
            with st.lock:
                st.service_accounts[service_id] = {
                    "domain": domain,
                    "delegated": set(delegated),
                    "data_center": data_center,
                }
            code = st.issue_code(
                kind="service_account",
                client_id=client_id,
                sub=service_id,
                scope=" ".join(scope),
                redirect_uri=redirect_uri,
                data_center=data_center,
            )
            return back(code=code)
        email = (args.get("email") or "").strip().lower()
        user = st.users.get(email)
        if user is None or user["data_center"] != data_center:
            return Response(
                page(title, f"<p class='bad'>No account {esc(email)} in this data center.</p>"),
                status=400,
                mimetype="text/html",
            )
        code = st.issue_code(
            kind="account",
            client_id=client_id,
            sub=user["sub"],
            scope=" ".join(scope),
            redirect_uri=redirect_uri,
            data_center=data_center,
        )
        return back(code=code)

    def authorize_page(self, request: Request, data_center: str, enterprise: bool, title: str):
        hidden = "".join(
            f"<input type='hidden' name='{esc(k)}' value='{esc(v)}'>"
            for k, v in request.args.items(multi=True)
        )
        if enterprise:
            choice = (
                f"<p>Authorize a service account for the domain <b>{ENTERPRISE_DOMAIN}</b> "
                f"(data center <b>{esc(data_center)}</b>). Calendars of every person in the "
                "domain may then be connected without asking them.</p>"
                f"<input type='hidden' name='domain' value='{ENTERPRISE_DOMAIN}'>"
            )
        else:
            users = [u for u in self.state.users.values() if u["data_center"] == data_center]
            options = "".join(
                f"<p><label><input type='radio' name='email' value='{esc(u['email'])}'"
                f"{' checked' if n == 0 else ''}> {esc(u['name'])} &lt;{esc(u['email'])}&gt; "
                f"<span class='muted'>({esc(u['zone'])})</span></label></p>"
                for n, u in enumerate(users)
            )
            choice = (
                f"<p>Sign in to connect your calendar (data center <b>{esc(data_center)}</b>). "
                f"The application asks for: <code>{esc(request.args.get('scope'))}</code></p>"
                + (options or "<p class='muted'>No sandbox users in this data center.</p>")
            )
        body = (
            f"<form method='post'>{hidden}{choice}"
            "<p><button type='submit' name='decision' value='allow'>Allow</button> "
            "<button type='submit' name='decision' value='deny'>Deny</button></p></form>"
        )
        return Response(page(title, body), mimetype="text/html")

    def screen(self, request: Request, rest: str) -> Response:
        st = self.state
        base = f"{request.script_root}/_sandbox"
        parts = [urllib.parse.unquote(p) for p in rest.split("/") if p]
        if not parts:
            return self.index_screen(base)
        if len(parts) == 2 and parts[0] == "users" and request.method == "GET":
            return self.user_screen(base, parts[1])
        if (
            len(parts) == 5
            and parts[0] == "users"
            and parts[2] == "events"
            and parts[4] == "delete"
            and request.method == "POST"
        ):
            st.delete_as_user(parts[1], event_uid=parts[3])
            return redirect(f"{base}/users/{urllib.parse.quote(parts[1])}")
        if (
            len(parts) == 4
            and parts[0] == "users"
            and parts[2] == "conferencing"
            and parts[3] in ("disconnect", "reconnect")
            and request.method == "POST"
        ):
            st.set_conferencing_connected(parts[1], parts[3] == "reconnect")
            return redirect(f"{base}/users/{urllib.parse.quote(parts[1])}")
        if (
            len(parts) == 3
            and parts[0] == "users"
            and parts[2] == "busy"
            and request.method == "POST"
        ):
            user = st.user(parts[1])
            zone = ZoneInfo(user["zone"])
            start = datetime.fromisoformat(request.form["start"]).replace(tzinfo=zone)
            minutes = int(request.form.get("minutes") or 60)
            st.add_busy(
                parts[1],
                summary=request.form.get("summary") or "Busy",
                start=start,
                end=start + timedelta(minutes=minutes),
            )
            return redirect(f"{base}/users/{urllib.parse.quote(parts[1])}")
        return Response("Not found", status=404)

    def index_screen(self, base: str) -> Response:
        st = self.state

        def attempts(delivery: dict) -> str:
            return ", ".join(str(a["http_status"] or a["error"]) for a in delivery["attempts"])

        with st.lock:
            users = list(st.users.values())
            channels = list(st.channels.values())
            deliveries = list(st.deliveries)[-30:]
        rows = "".join(
            f"<tr><td><a href='{esc(base)}/users/{esc(urllib.parse.quote(u['email']))}'>"
            f"{esc(u['name'])}</a></td><td>{esc(u['email'])}</td><td>{esc(u['zone'])}</td>"
            f"<td>{esc(u['data_center'])}</td><td><code>{esc(u['sub'])}</code></td></tr>"
            for u in users
        )
        channel_rows = (
            "".join(
                f"<tr><td><code>{esc(c['channel_id'])}</code></td><td>{esc(c['callback_url'])}</td>"
                f"<td>{esc((st.user_by_sub(c['sub']) or {}).get('email'))}</td></tr>"
                for c in channels
            )
            or "<tr><td colspan='3' class='muted'>No channels.</td></tr>"
        )
        delivery_rows = (
            "".join(
                f"<tr><td>{esc(d.get('type'))}</td><td>{esc(d['url'])}</td>"
                f"<td>{esc(d['status'])}</td><td>{esc(attempts(d))}</td></tr>"
                for d in reversed(deliveries)
            )
            or "<tr><td colspan='4' class='muted'>Nothing sent yet.</td></tr>"
        )
        body = (
            f"<p class='muted'>OAuth client <code>{DEFAULT_CLIENT_ID}</code> / "
            f"<code>{DEFAULT_CLIENT_SECRET}</code>. Busy blocks seeded around "
            f"{st.anchor.isoformat()}.</p>"
            "<h2>People</h2><table><tr><th>Name</th><th>E-mail</th><th>Zone</th><th>Data center"
            f"</th><th>sub</th></tr>{rows}</table>"
            "<h2>Notification channels</h2><table><tr><th>Channel</th><th>Callback</th>"
            f"<th>Account</th></tr>{channel_rows}</table>"
            "<h2>Recent notifications</h2><table><tr><th>Type</th><th>To</th><th>Status</th>"
            f"<th>Attempts</th></tr>{delivery_rows}</table>"
        )
        return Response(page("Sandbox Cronofy", body), mimetype="text/html")

    def user_screen(self, base: str, email: str) -> Response:
        st = self.state
        user = st.user(email)
        zone = ZoneInfo(user["zone"])
        now = time.time()
        events = [
            e
            for e in st.events_of(email)
            if e["end_ts"] > now - 86400 and e["start_ts"] < now + 15 * 86400
        ]
        quoted = esc(urllib.parse.quote(user["email"]))
        connected = st.conferencing_profile(user)["profile_connected"]
        status = "connected" if connected else "disconnected"
        toggle = "disconnect" if connected else "reconnect"
        rows = []
        for e in events:
            start = datetime.fromtimestamp(e["start_ts"], zone)
            end = datetime.fromtimestamp(e["end_ts"], zone)
            when = (
                f"{start:%a %d %b} (all day)"
                if e["all_day"]
                else f"{start:%a %d %b %H:%M}–{end:%H:%M} {start:%Z}"
            )
            kind = esc("ours (managed)") if e["event_id"] else ""
            conference = e.get("conferencing") or {}
            if conference.get("join_url"):
                kind += (
                    f"<br>{esc(conference.get('provider_description') or 'Conference')}: "
                    f"<a href='{esc(conference['join_url'])}'>{esc(conference['join_url'])}</a>"
                )
            elif conference.get("pending"):
                kind += "<br><span class='muted'>conference pending</span>"
            action = (
                "<span class='muted'>deleted</span>"
                if e["deleted"]
                else f"<form method='post' class='inline' "
                f"action='{esc(base)}/users/{quoted}/events/"
                f"{esc(e['event_uid'])}/delete'><button type='submit'>Delete as {esc(user['name'])}"
                "</button></form>"
            )
            rows.append(
                f"<tr><td>{esc(when)}</td><td>{esc(e['summary'])}</td><td>{kind}</td>"
                f"<td>{action}</td></tr>"
            )
        table = "".join(rows) or "<tr><td colspan='4' class='muted'>No events.</td></tr>"
        body = (
            f"<p><a href='{esc(base)}/'>← all people</a></p>"
            f"<p>{esc(user['email'])} · {esc(user['zone'])} · data center "
            f"{esc(user['data_center'])}</p>"
            f"<form method='post' action='{esc(base)}/users/{quoted}/conferencing/{toggle}'>"
            f"Video conferencing (Sandbox Meet): {esc(status)} "
            f"<button type='submit'>{esc(toggle.title())}</button></form>"
            f"<form method='post' action='{esc(base)}/users/{quoted}/busy'>"
            "<label>Add a busy block at "
            "<input type='datetime-local' name='start' required></label> "
            "<label>for <input type='number' name='minutes' value='60' min='5'> minutes</label> "
            "<input name='summary' placeholder='Summary' aria-label='Summary'> "
            "<button type='submit'>Add</button></form>"
            "<table><tr><th>When</th><th>Summary</th><th></th><th></th></tr>"
            f"{table}</table>"
        )
        return Response(page(f"Calendar — {user['name']}", body), mimetype="text/html")
