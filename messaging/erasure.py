"""Messaging's part of deleting a candidate's personal data (``candidates.erasure``;
this module registers itself when ``MessagingConfig.ready`` imports it).

Every text and e-mail to or from the candidate keeps its row — channel, direction, status,
times, segments, who sent it — so the Inbox's and analytics' counts stay; its subject, bodies,
addresses, attachments and error text (which can quote the address) are replaced by the marker,
and the provider payloads of its delivery history are emptied. The opt-out ledgers keep their
entries: they are what stops the address from being texted or e-mailed again if it comes back
from the ATS, a record kept to honour the person's own request.
"""

from __future__ import annotations

from django.db.models import Q

from candidates.erasure import ERASED, ErasurePart, register_eraser

from .models import Direction, Message, MessageEvent


def messaging_erase(*, organization, candidate) -> ErasurePart:
    messages = Message.objects.filter(organization=organization).filter(
        Q(candidate=candidate) | Q(conversation__candidate=candidate)
    )
    ids, identifiers = [], set()
    for pk, direction, to_address, from_address, provider_id in messages.values_list(
        "pk", "direction", "to_address", "from_address", "provider_message_id"
    ):
        ids.append(pk)
        # The candidate's side of the message and its id at the provider name the candidate in
        # the provider's stored webhooks (candidates.erasure empties those after the erasers).
        identifiers |= {from_address if direction == Direction.INBOUND else to_address, provider_id}
    erased = Message.objects.filter(organization=organization, pk__in=ids).update(
        to_address=ERASED, from_address=ERASED, body=ERASED, html="", attachments=[]
    )
    for name in ("subject", "error_message"):
        Message.objects.filter(organization=organization, pk__in=ids).exclude(**{name: ""}).update(
            **{name: ERASED}
        )
    events = MessageEvent.objects.filter(organization=organization, message_id__in=ids).update(
        raw={}
    )
    return ErasurePart(
        counts={"messages": erased, "message_events": events}, identifiers=identifiers - {""}
    )


register_eraser("messaging", messaging_erase)
