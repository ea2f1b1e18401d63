"""Fake Twilio Programmable Messaging (REST 2010-04-01) with signed webhooks, as a WSGI app.

Mount the app anywhere (the sandbox server uses ``/twilio``); paths are relative to the mount,
so point the SDK's ``https://api.twilio.com`` at ``{sandbox}/twilio``.

Default credentials (HTTP Basic ``AccountSid:AuthToken``)
    Account ``ACsandbox00000000000000000000000000`` / auth token ``sandbox-auth-token``.
    Default Messaging Service ``MGsandbox00000000000000000000000000`` with the number
    ``+15005550100``; the standalone number ``+15005550199``.  Any E.164 ``From`` is accepted.
    Wrong credentials: ``401 {"code":20003,"message":"Authenticate",...}``.

REST API
    ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form) creates a message:
    ``To`` E.164 (21604 missing, 21211 invalid or equal to From); ``From`` or
    ``MessagingServiceSid`` (21603 / 21705); ``Body`` ≤ 1600 (21602 / 21617); opted-out
    recipient → 21610; ``ScheduleType=fixed`` + ``SendAt`` with a service → ``scheduled``
    (15 min – 35 days, else 35114; without a service the schedule is dropped).  201 JSON resource
    with status ``queued`` (From) / ``accepted`` (service).  No de-duplication.
    ``GET .../Messages.json`` (To, From, DateSent, DateSent<, DateSent>, PageSize, Page; newest
    first), ``GET .../Messages/{sid}.json``, ``POST .../Messages/{sid}.json`` with
    ``Status=canceled`` (scheduled only, else 30409) or ``Body=`` (redaction).
    Errors: ``{"code","message","more_info","status"}``.
    ``GET|POST .../IncomingPhoneNumbers.json`` lists the account's numbers (``PhoneNumber``,
    ``FriendlyName`` filters) or provisions one (``PhoneNumber`` or ``AreaCode``; ``SmsUrl``,
    ``SmsMethod``, ``FriendlyName``; a number already on the account → 21422);
    ``GET|POST|DELETE .../IncomingPhoneNumbers/{PN…}.json`` fetches, updates (``SmsUrl`` is
    where texts to the number are posted) or releases one.  The default numbers are on the
    account from the start.

Delivery simulation (status callbacks, none for the initial status)
    ``sent`` after :attr:`TwilioState.sent_delay` then, :attr:`TwilioState.delivery_delay`
    later, ``delivered`` — or ``undelivered`` 30003 for a To ending ``0000``, 30005 ``0005``,
    30007 ``0007``, or ``failed`` 30006 (no ``sent``) for ``0006``; per-number outcomes with
    :meth:`TwilioState.set_outcome`.  Form POSTs carry ``MessageSid, SmsSid, SmsStatus,
    MessageStatus, AccountSid, From, To, ApiVersion`` (+ ``MessagingServiceSid`` for service
    messages, ``ErrorCode`` on failures, ``RawDlrDoneDate`` on delivered — an "unknown" param),
    ``X-Twilio-Signature`` per the SDK's ``RequestValidator`` and ``I-Twilio-Idempotency-Token``.

Inbound
    :meth:`TwilioState.text_from` (or ``POST /_sandbox/api/inbound`` or the phone screen) applies
    the opt-out keywords (STOP… block per service-or-number, START/YES/UNSTOP unblock,
    HELP/INFO auto-reply; single word only), records Twilio's auto-reply, then POSTs the inbound
    webhook (signed) to the number's / service's / default inbound URL.  A TwiML
    ``<Message>`` in the answer is sent back to the phone.

Sandbox control (no auth; loopback only) under ``/_sandbox/``
    ``/_sandbox/`` phones list, ``/_sandbox/phone/<E.164>`` conversation + reply form.
    JSON: ``GET|POST api/config``, ``POST api/inbound {from, body, to?}``,
    ``GET|POST|DELETE api/faults {status: 500|503|429, count, delay?, match?}``,
    ``POST api/outcomes {phone, status, error_code}``, ``POST api/release {sid?}``,
    ``GET api/messages``, ``GET api/callbacks``, ``GET api/opt_outs``, ``POST api/reset``.
"""

from __future__ import annotations

from integrations.sandbox.twilio.app import API_MAP, TwilioApp
from integrations.sandbox.twilio.callbacks import twilio_signature
from integrations.sandbox.twilio.contract import (
    API_VERSION,
    AUTO_REPLIES,
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_NUMBER,
    DEFAULT_OUTCOMES,
    DEFAULT_SERVICE_NUMBER,
    DEFAULT_SERVICE_SID,
    ERROR_MESSAGES,
    PUBLIC_FIELDS,
    TERMINAL,
    TWIML_MESSAGE_RE,
    TwilioError,
    parse_date,
)
from integrations.sandbox.twilio.control import SANDBOX_MAP
from integrations.sandbox.twilio.state import TwilioState

__all__ = [
    "API_MAP",
    "API_VERSION",
    "AUTO_REPLIES",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_NUMBER",
    "DEFAULT_OUTCOMES",
    "DEFAULT_SERVICE_NUMBER",
    "DEFAULT_SERVICE_SID",
    "ERROR_MESSAGES",
    "PUBLIC_FIELDS",
    "SANDBOX_MAP",
    "TERMINAL",
    "TWIML_MESSAGE_RE",
    "TwilioApp",
    "TwilioError",
    "TwilioState",
    "parse_date",
    "twilio_signature",
]
