"""Writes of the messaging domain: the outbox, delivery, callbacks, inbound texts, opt-outs.

Sending is "durable before async": :func:`message_send` writes the Message row and commits;
the Celery task :func:`messaging.tasks.message_deliver` then claims it with a conditional
UPDATE (queued → sending) and calls the provider through :func:`message_deliver`. Messages
queued together (inside :func:`messages_batched`, or :func:`messages_enqueue`) go up to 25 to
a task, :func:`messaging.tasks.message_deliver_batch` (``message_deliver_urgent_batch`` for
messages someone is waiting for), which claims and sends each the same way
(:func:`messages_deliver`). Sends made together read what each one checks once for all of them
(:func:`messages_prepared`). A send that
may have reached the provider (an ambiguous timeout, a 5xx) ends ``unknown`` and is never
resent blindly: :func:`message_reconcile` asks the provider whether it has the text and either
adopts it or puts the message back to ``queued``. One that provably did not reach it is put back
to ``queued`` for a retry, and marked ``failed`` (with :func:`message_retry` as the way back)
when the retries run out.

Provider callbacks arrive through :mod:`messaging.webhooks`: each is stored raw by the one
webhook intake (:mod:`integrations.intake`) and its records applied once by the handlers of
:mod:`messaging.services.callbacks`.
"""

from messaging.services.common import (  # noqa: F401
    DELIVERY_BATCH,
    DELIVERY_STATUS_MAP,
    EMAIL_ACTIVITY_SETTLE_S,
    OPTED_OUT_CODE,
    RECONCILE_AFTER_S,
    CannotSend,
    DeliveryOutcome,
    DeliveryResult,
    _enqueue,
    messages_batched,
    messages_enqueue,
)
from messaging.services.delivery import (  # noqa: F401
    message_deliver,
    message_give_up,
    message_reconcile,
    message_retry,
    messages_deliver,
)
from messaging.services.inbound import (  # noqa: F401
    inbound_sms_accept,
    inbound_sms_receive,
    message_status_apply,
    message_status_route,
    opt_out_change_apply,
)
from messaging.services.optouts import (  # noqa: F401
    messages_withdraw_held,
    opt_out_lock,
    opt_out_unlock,
)
from messaging.services.sending import (  # noqa: F401
    message_send,
    messages_prepared,
    messages_release_held,
    sandbox_sms_wire,
)
