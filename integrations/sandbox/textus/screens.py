"""The human screens of the fake TextUs: the list of phones and the sandbox phone."""

from __future__ import annotations

from werkzeug.wrappers import Response

from integrations.sandbox._common import esc, redirect
from integrations.sandbox.phone import conversation_html, page, phone_href
from integrations.sandbox.textus.contract import normalize_phone
from integrations.sandbox.textus.state import TextUsState


class ScreensMixin:
    """The HTML pages of :class:`TextUsApp`."""

    state: TextUsState

    def sb_ui_index(self, request):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        rows = []
        for p in st.phones():
            conv = st.conversation_items(p)
            last = conv[-1]
            opted = ", ".join(a for (a, ph) in st.opt_outs if ph == p)
            rows.append(
                f"<tr><td><a href='{esc(phone_href(base, p))}'>{esc(p)}</a></td>"
                f"<td>{len(conv)}</td><td>{esc(last['body'][:80])}</td>"
                f"<td>{esc(last['deliveryState'])}</td><td>{esc(opted) or '—'}</td></tr>"
            )
        table = (
            "<table><tr><th>Phone</th><th>Texts</th><th>Last text</th><th>State</th>"
            "<th>Opted out of</th></tr>" + "".join(rows) + "</table>"
            if rows
            else "<p class='muted'>No texts yet.</p>"
        )
        accts = "".join(
            f"<li>{esc(a['slug'])} {esc(a['phone'])} — webhook {esc(a['webhook_url'] or 'not set')}"
            "</li>"
            for a in st.accounts.values()
        )
        form = (
            f"<h3>Text in from a new number</h3><form method='post' action='{esc(base)}/phone/"
            "new/reply'><input name='from' placeholder='+15551234567' required> "
            "<input name='body' placeholder='Message' required> "
            "<button type='submit'>Send</button></form>"
        )
        return Response(
            page("Sandbox TextUs — phones", f"<ul>{accts}</ul>{table}{form}", "textus"),
            mimetype="text/html",
        )

    def sb_ui_phone(self, request, phone):
        st = self.state
        base = f"{request.script_root}/_sandbox"
        items = [
            {
                "direction": "in" if m["direction"] == "out" else "out",
                "body": m["body"],
                "at": m["_ts"],
                "peer": m["_account"],
                "status": m["deliveryState"] if m["direction"] == "out" else "",
                "note": f"keyword {m['_keyword']}" if m.get("_keyword") else "",
            }
            for m in st.conversation_items(phone)
        ]
        senders = []
        for m in reversed(st.conversation_items(phone)):
            if m["_account"] not in senders:
                senders.append(m["_account"])
        for slug in st.accounts:
            if slug not in senders:
                senders.append(slug)
        html = conversation_html(
            phone, items, phone_href(base, phone) + "/reply", senders, f"{base}/"
        )
        return Response(page(f"Sandbox TextUs — {phone}", html, "textus"), mimetype="text/html")

    def sb_ui_reply(self, request, phone):
        base = f"{request.script_root}/_sandbox"
        if phone == "new":
            phone = (request.form.get("from") or "").strip()
        body = request.form.get("body") or ""
        norm = normalize_phone(phone)
        account = request.form.get("to") or "acme-talent"
        if norm is None or not body.strip() or account not in self.state.accounts:
            return redirect(f"{base}/")
        self.state.text_from(norm, body, account)
        return redirect(phone_href(base, norm))
