"""The verification snippets the settings page shows (Python and Node), for a receiver."""

PYTHON = """# pip install standardwebhooks
import os

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

wh = Webhook(os.environ["RECRUITFLOW_WEBHOOK_SECRET"])  # whsec_...

def receive(request):  # e.g. a Django or Flask view
    try:
        event = wh.verify(request.body, dict(request.headers))  # raw body bytes
    except WebhookVerificationError:
        return HttpResponse(status=400)
    # webhook-id is the same on every retry: skip ids you already handled.
    handle(request.headers["webhook-id"], event["type"], event["data"])
    return HttpResponse(status=204)
"""

NODE = """// npm install standardwebhooks
import { Webhook } from "standardwebhooks";

const wh = new Webhook(process.env.RECRUITFLOW_WEBHOOK_SECRET.replace(/^whsec_/, ""));

app.post("/webhooks/recruitflow", express.raw({ type: "application/json" }), (req, res) => {
  let event;
  try {
    event = wh.verify(req.body, req.headers); // the raw body, not parsed JSON
  } catch (err) {
    return res.status(400).end();
  }
  // webhook-id is the same on every retry: skip ids you already handled.
  handle(req.headers["webhook-id"], event.type, event.data);
  res.status(204).end();
});
"""
