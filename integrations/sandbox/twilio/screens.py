"""The human screens of the fake Twilio: the list of phones and the sandbox phone, where a
person reads texts and replies."""

from __future__ import annotations

from werkzeug.wrappers import Response

from integrations.sandbox._common import esc, redirect
from integrations.sandbox.phone import conversation_html, is_e164, page, phone_href
from integrations.sandbox.twilio.contract import DEFAULT_SERVICE_NUMBER
from integrations.sandbox.twilio.state import TwilioState


class ScreensMixin:
    """The HTML pages of :class:`TwilioApp`."""

    state: TwilioState

    def sb_ui_index(self, request):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        rows = []
        for p in st.phones():
            conv = st.conversation(p)
            last = conv[-1] if conv else None
            opted = ", ".join(k for (k, ph) in st.opt_outs if ph == p)
            rows.append(
                f"<tr><td><a href='{esc(phone_href(base, p))}'>{esc(p)}</a></td>"
                f"<td>{len(conv)}</td><td>{esc((last or {}).get('body', ''))[:80]}</td>"
                f"<td>{esc((last or {}).get('status', ''))}</td>"
                f"<td>{esc(opted) or '—'}</td></tr>"
            )
        table = (
            "<table><tr><th>Phone</th><th>Texts</th><th>Last text</th><th>Status</th>"
            "<th>Opted out of</th></tr>" + "".join(rows) + "</table>"
            if rows
            else "<p class='muted'>No texts yet. Send one through the API.</p>"
        )
        form = (
            f"<h3>Text in from a new number</h3><form method='post' action='{esc(base)}/phone/"
            "new/reply'><input name='from' placeholder='+15551234567' required> "
            "<input name='body' placeholder='Message' required> "
            "<button type='submit'>Send</button></form>"
        )
        info = (
            f"<p class='muted'>Account {esc(st.account_sid)} · inbound URL "
            f"{esc(st.inbound_url or 'not set')} · default status callback "
            f"{esc(st.status_callback or 'not set')}</p>"
        )
        return Response(page("Sandbox Twilio — phones", info + table + form), mimetype="text/html")

    def sb_ui_phone(self, request, phone):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        items = []
        for m in st.conversation(phone):
            if m["direction"] == "inbound":
                items.append(
                    {
                        "direction": "out",
                        "body": m["body"],
                        "at": m["_created"],
                        "peer": f"to {m['to']}",
                        "status": "",
                        "note": f"keyword {m['_keyword']}" if m.get("_keyword") else "",
                    }
                )
            else:
                cbs = [h for h in m["_history"] if h.get("callback")]
                note = ""
                if cbs:
                    note = f"callback HTTP {cbs[-1]['callback']['http_status']}"
                items.append(
                    {
                        "direction": "in",
                        "body": m["body"],
                        "at": m["_created"],
                        "peer": f"from {m['from'] or m['_sender']}",
                        "status": m["status"]
                        + (f" ({m['error_code']})" if m["error_code"] else ""),
                        "note": note,
                    }
                )
        senders = []
        for m in reversed(st.conversation(phone)):
            s = m["to"] if m["direction"] == "inbound" else m["_sender"]
            if s and s not in senders:
                senders.append(s)
        if not senders:
            senders = [DEFAULT_SERVICE_NUMBER]
        html = conversation_html(
            phone, items, phone_href(base, phone) + "/reply", senders, f"{base}/"
        )
        return Response(page(f"Sandbox Twilio — {phone}", html), mimetype="text/html")

    def sb_ui_reply(self, request, phone):
        base = f"{request.script_root}/_sandbox"
        if phone == "new":
            phone = (request.form.get("from") or "").strip()
        body = request.form.get("body") or ""
        if not is_e164(phone) or not body.strip():
            return redirect(f"{base}/")
        self.state.text_from(phone, body, request.form.get("to") or None)
        return redirect(phone_href(base, phone))
