"""Messages queued together go out together: up to 25 of an organization to a delivery task,
each claimed and sent on its own, nothing queued by a transaction that rolled back."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from candidates.models import TimelineEvent
from integrations.sendgrid.models import SendGridSettings
from integrations.twilio.models import TwilioSettings
from messaging import recovery, services
from messaging.models import (
    Channel,
    EmailOptOutEntry,
    EmailOptOutSource,
    Message,
    MessageEvent,
    MessageStatus,
    OptOutAction,
    OptOutEntry,
    OptOutSource,
)
from messaging.services import delivery
from messaging.tasks import message_deliver, message_deliver_batch
from recruitflow.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


def _outbound(sandbox):
    return [m for m in sandbox.twilio.messages.values() if m["direction"] == "outbound-api"]


@pytest.fixture
def published(monkeypatch):
    """The delivery tasks, replaced by a list of what was queued: ("one", id) or
    ("batch", [ids])."""
    queued: list = []
    monkeypatch.setattr(message_deliver, "delay", lambda org_id, pk: queued.append(("one", pk)))
    monkeypatch.setattr(
        message_deliver_batch, "delay", lambda org_id, ids: queued.append(("batch", list(ids)))
    )
    return queued


def _candidates(make_candidate, n, *, start=0):
    return [
        make_candidate(
            mobile_phone=f"+4477009003{start + i:02d}", email=f"c{start + i}@example.com"
        )
        for i in range(n)
    ]


def _send(org, candidate, *, channel=Channel.SMS, key=""):
    return services.message_send(
        organization=org,
        candidate=candidate,
        channel=channel,
        subject="Your application" if channel == Channel.EMAIL else "",
        body=f"Hi {candidate.pk}, can we talk?",
        source="bulk",
        idempotency_key=key,
    )


def test_messages_queued_together_go_out_25_to_a_task_once_committed(
    scoped, twilio_settings, make_candidate, published, django_capture_on_commit_callbacks
):
    people = _candidates(make_candidate, 30)
    with (
        django_capture_on_commit_callbacks(execute=True),
        services.messages_batched(),
        transaction.atomic(),
    ):
        messages = [_send(scoped, person) for person in people]
        assert published == []  # nothing before the commit
    ids = [m.pk for m in messages]
    assert published == [("batch", ids[:25]), ("batch", ids[25:])]


def test_a_rolled_back_transaction_queues_nothing_and_a_lone_message_goes_to_its_own_task(
    scoped, twilio_settings, make_candidate, published, django_capture_on_commit_callbacks
):
    ana, ben, cleo = _candidates(make_candidate, 3)
    with django_capture_on_commit_callbacks(execute=True), services.messages_batched():
        first = _send(scoped, ana)
        with pytest.raises(RuntimeError), transaction.atomic():
            _send(scoped, ben)
            raise RuntimeError("the step failed after queueing")
    assert published == [("one", first.pk)]
    assert not Message.objects.filter(candidate=ben).exists()

    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        alone = _send(scoped, cleo)  # outside a batch: its own task, as before
    assert published == [("one", alone.pk)]


def test_a_batch_sends_each_message_once_and_costs_at_most_five_queries_a_send(
    scoped, twilio_settings, make_candidate, sandbox, django_capture_on_commit_callbacks
):
    people = _candidates(make_candidate, 10)
    with django_capture_on_commit_callbacks():
        messages = [_send(scoped, person) for person in people]
    ids = [m.pk for m in messages]
    # The organization's sending settings are read by the first send of a process.
    with django_capture_on_commit_callbacks():
        assert message_deliver(scoped.pk, ids[0]) == "sent"

    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks():
        assert message_deliver_batch(scoped.pk, ids) == {"not_claimed": 1, "sent": 9}
    queries = [q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"].upper()]
    assert len(queries) <= 5 * 9, len(queries)

    assert sorted(m["to"] for m in _outbound(sandbox)) == sorted(p.mobile_phone for p in people)
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        MessageStatus.SENT
    }
    # Each one its own record: the event and the timeline entry of its send.
    assert MessageEvent.objects.filter(message_id__in=ids, status=MessageStatus.SENT).count() == 10
    assert TimelineEvent.objects.filter(kind="message_sent").count() == 10
    assert message_deliver_batch(scoped.pk, ids) == {"not_claimed": 10}  # a duplicate task


def test_an_opted_out_number_in_a_batch_is_never_texted_and_the_others_are(
    scoped, twilio_settings, make_candidate, sandbox, django_capture_on_commit_callbacks
):
    ana, ben, cleo = _candidates(make_candidate, 3)
    with django_capture_on_commit_callbacks():
        messages = [_send(scoped, person) for person in (ana, ben, cleo)]
    # Ben texts STOP after his text was queued: the lock cancels it.
    services.opt_out_lock(organization=scoped, phone=ben.mobile_phone, source=OptOutSource.KEYWORD)

    assert message_deliver_batch(scoped.pk, [m.pk for m in messages]) == {
        "sent": 2,
        "not_claimed": 1,
    }
    assert sorted(m["to"] for m in _outbound(sandbox)) == [ana.mobile_phone, cleo.mobile_phone]
    canceled = Message.objects.get(pk=messages[1].pk)
    assert canceled.status == MessageStatus.CANCELED
    assert "opted out" in canceled.error_message


def test_an_address_locked_on_the_ledger_in_a_batch_is_canceled_with_the_reason(
    scoped, twilio_settings, make_candidate, sandbox, django_capture_on_commit_callbacks
):
    SendGridSettings.objects.create(
        organization=scoped,
        api_key="SG.sandbox-key",
        from_email="jobs@acme.test",
        from_name="Acme Talent",
        base_url=f"{sandbox.url}/sendgrid",
        event_public_key=sandbox.sendgrid.public_key_b64,
    )
    ana, ben = _candidates(make_candidate, 2)
    with django_capture_on_commit_callbacks():
        text = _send(scoped, ana)
        mail = _send(scoped, ben, channel=Channel.EMAIL)
    # Locked in the ledgers without the lock's own cancel (another path wrote the entries):
    # the delivery's read of the ledgers still stops both.
    OptOutEntry.objects.create(
        organization=scoped,
        phone=ana.mobile_phone,
        locked=True,
        action=OptOutAction.LOCK,
        source=OptOutSource.MANUAL,
    )
    EmailOptOutEntry.objects.create(
        organization=scoped,
        email=ben.primary_email,
        locked=True,
        action=OptOutAction.LOCK,
        source=EmailOptOutSource.MANUAL,
    )
    assert message_deliver_batch(scoped.pk, [text.pk, mail.pk]) == {"canceled": 2}
    text.refresh_from_db()
    mail.refresh_from_db()
    assert text.status == MessageStatus.CANCELED and "opted out" in text.error_message
    assert mail.status == MessageStatus.CANCELED
    assert _outbound(sandbox) == []


def test_past_the_accounts_rate_the_rest_of_a_batch_is_queued_again_alone_for_its_turn(
    scoped,
    twilio_settings,
    make_candidate,
    sandbox,
    settings,
    requeued,
    time_machine,
    django_capture_on_commit_callbacks,
):
    settings.MESSAGING_SEND_RATE_PER_S = {"twilio": 1}
    with django_capture_on_commit_callbacks():
        messages = [_send(scoped, person) for person in _candidates(make_candidate, 3)]
    time_machine.move_to("2025-01-15 15:00:00.100 +00:00", tick=False)
    ids = [m.pk for m in messages]

    assert message_deliver_batch(scoped.pk, ids) == {"sent": 1, "throttled": 2}

    assert len(_outbound(sandbox)) == 1
    assert [(args, options) for args, _, options in requeued] == [
        ((scoped.pk, ids[1]), {}),
        ((scoped.pk, ids[2]), {}),
    ]
    assert [countdown for _, countdown, _ in requeued] == pytest.approx([0.9, 1.9])
    assert list(Message.objects.filter(pk__in=ids[1:]).values_list("status", flat=True)) == [
        MessageStatus.QUEUED,
        MessageStatus.QUEUED,
    ]


def test_a_send_that_provably_failed_in_a_batch_is_retried_alone_as_its_first_retry(
    scoped,
    twilio_settings,
    make_candidate,
    sandbox,
    requeued,
    django_capture_on_commit_callbacks,
):
    TwilioSettings.objects.filter(pk=twilio_settings.pk).update(base_url="http://127.0.0.1:9")
    with django_capture_on_commit_callbacks():
        messages = [_send(scoped, person) for person in _candidates(make_candidate, 2)]

    assert message_deliver_batch(scoped.pk, [m.pk for m in messages]) == {"retry": 2}

    assert requeued == [((scoped.pk, m.pk), 30, {"retries": 1}) for m in messages]
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED and message.attempts == 1
        assert "Could not reach Twilio" in message.error_message


def test_one_messages_unexpected_error_leaves_it_to_the_sweep_and_the_others_go_out(
    scoped,
    twilio_settings,
    make_candidate,
    sandbox,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    people = _candidates(make_candidate, 3)
    with django_capture_on_commit_callbacks():
        messages = [_send(scoped, person) for person in people]
    broken = messages[1].pk
    real_mark_sent = delivery._mark_sent

    def mark_sent(organization, message, **kwargs):
        if message.pk == broken:
            raise RuntimeError("a bug in writing this one's answer")
        return real_mark_sent(organization, message, **kwargs)

    monkeypatch.setattr(delivery, "_mark_sent", mark_sent)

    assert message_deliver_batch(scoped.pk, [m.pk for m in messages]) == {"sent": 2, "error": 1}

    assert len(_outbound(sandbox)) == 3  # the provider has all three
    assert Message.objects.get(pk=broken).status == MessageStatus.SENDING
    # The recovery sweep asks the provider and adopts it: never sent a second time.
    Message.objects.filter(pk=broken).update(
        status_updated_at=timezone.now() - timedelta(minutes=10)
    )
    monkeypatch.setattr(delivery, "_mark_sent", real_mark_sent)
    assert recovery.delivery_recover().sending_settled == 1
    assert Message.objects.get(pk=broken).status == MessageStatus.SENT
    assert len(_outbound(sandbox)) == 3


def test_released_after_quiet_hours_an_organizations_messages_go_out_together(
    scoped, twilio_settings, make_candidate, published, django_capture_on_commit_callbacks
):
    people = _candidates(make_candidate, 27)
    with django_capture_on_commit_callbacks():
        messages = [_send(scoped, person) for person in people]
    ids = [m.pk for m in messages]
    Message.objects.filter(pk__in=ids).update(
        status=MessageStatus.HELD, hold_until=timezone.now() - timedelta(minutes=1)
    )
    Message.objects.filter(pk=ids[-1]).update(hold_until=timezone.now() + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.messages_release_held() == 26
    assert published == [("batch", ids[:25]), ("one", ids[25])]
    assert Message.objects.get(pk=ids[-1]).status == MessageStatus.HELD


def test_a_batch_never_crosses_organizations(
    alice, mallory, make_candidate, twilio_settings, published, django_capture_on_commit_callbacks
):
    ours, theirs = alice.organization, mallory.organization
    with django_capture_on_commit_callbacks(execute=True), services.messages_batched():
        with tenant_scope(ours):
            mine = _send(ours, make_candidate(mobile_phone="+447700900401"))
        with tenant_scope(theirs):
            other = _send(theirs, make_candidate(organization=theirs, mobile_phone="+447700900402"))
    assert sorted(published) == sorted([("one", mine.pk), ("one", other.pk)])


@pytest.mark.django_db(transaction=True)
def test_a_new_database_session_prepares_the_answer_again(
    org, twilio_settings, make_candidate, sandbox, django_capture_on_commit_callbacks
):
    if connection.vendor != "postgresql":
        pytest.skip("the answer is prepared on Postgres only")
    with tenant_scope(org), django_capture_on_commit_callbacks():
        first = [_send(org, person) for person in _candidates(make_candidate, 2)]
    assert message_deliver_batch(org.pk, [m.pk for m in first]) == {"sent": 2}
    # A statement prepared in a transaction that rolled back stays prepared (Postgres's rule).
    with pytest.raises(RuntimeError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        raise RuntimeError
    with tenant_scope(org), django_capture_on_commit_callbacks():
        second = [_send(org, person) for person in _candidates(make_candidate, 2, start=2)]
    with CaptureQueriesContext(connection) as ctx:
        assert message_deliver_batch(org.pk, [m.pk for m in second]) == {"sent": 2}
    assert _answers(ctx.captured_queries) == (_answers(ctx.captured_queries)[0], [])

    connection.close()  # a new database session (a restart of Postgres, CONN_MAX_AGE)
    with tenant_scope(org), django_capture_on_commit_callbacks():
        third = [_send(org, person) for person in _candidates(make_candidate, 2, start=4)]
    with CaptureQueriesContext(connection) as ctx:
        assert message_deliver_batch(org.pk, [m.pk for m in third]) == {"sent": 2}
    answers, prepares = _answers(ctx.captured_queries)
    assert len(answers) == 2 and len(prepares) == 2  # prepared again in the new session
    assert len(_outbound(sandbox)) == 6
    with tenant_scope(org):
        assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def _commits(queries) -> int:
    """Commits among captured statements: COMMITs, and writes run outside a transaction (a
    WITH here is always one, or the EXECUTE of it prepared: an answer with its event, its
    timeline entry and the next claim)."""
    commits, in_transaction = 0, False
    for sql in (q["sql"].strip().upper() for q in queries):
        if sql.startswith("BEGIN"):
            in_transaction = True
        elif sql.startswith(("COMMIT", "ROLLBACK")):
            commits += sql.startswith("COMMIT")
            in_transaction = False
        elif not in_transaction and sql.startswith(
            ("UPDATE", "INSERT", "DELETE", "WITH", "EXECUTE")
        ):
            commits += 1
    return commits


def _answers(queries) -> tuple[list[str], list[str]]:
    """The answers' statements (a WITH, or the EXECUTE of it prepared) and the PREPAREs."""
    sqls = [q["sql"] for q in queries]
    answers = [sql for sql in sqls if sql.startswith(("WITH", "EXECUTE rf_"))]
    return answers, [sql for sql in sqls if sql.startswith("PREPARE")]


@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "not-prepared"])
@pytest.mark.django_db(transaction=True)
def test_in_a_batch_a_claim_commits_with_the_previous_answer_one_commit_a_send(
    org, twilio_settings, make_candidate, sandbox, django_capture_on_commit_callbacks, settings,
    prepared,
):  # fmt: skip
    settings.DATABASE_PREPARED_STATEMENTS = prepared
    with tenant_scope(org), django_capture_on_commit_callbacks():
        messages = [_send(org, person) for person in _candidates(make_candidate, 8)]
    ids = [m.pk for m in messages]

    with CaptureQueriesContext(connection) as ctx:
        assert message_deliver_batch(org.pk, ids) == {"sent": 8}

    # The first claim alone, then each answer with the next claim: 9 commits for 8 sends, not 16.
    assert _commits(ctx.captured_queries) == 9
    if connection.vendor == "postgresql":  # and each answer is one statement
        answers, prepares = _answers(ctx.captured_queries)
        assert len(answers) == 8
        # Prepared: each shape of answer (with the next claim, the last one without) at most
        # once in the session; otherwise sent whole each time.
        assert all(sql.startswith("EXECUTE" if prepared else "WITH") for sql in answers)
        assert len(prepares) <= (2 if prepared else 0)
    assert len(_outbound(sandbox)) == 8
    with tenant_scope(org):
        assert (
            list(Message.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == [1] * 8
        )
        # What the answer wrote is what a recruiter reads: the row, its event, the timeline.
        last = Message.objects.get(pk=ids[-1])
        sid = {m["to"]: m["sid"] for m in _outbound(sandbox)}[last.to_address]
        assert (last.status, last.provider, last.provider_message_id) == ("sent", "twilio", sid)
        event = MessageEvent.objects.get(message=last)
        assert (event.status, event.raw["sid"]) == (MessageStatus.SENT, sid)
        entry = TimelineEvent.objects.get(candidate=last.candidate, kind="message_sent")
        assert entry.summary == f"Text sent: {last.body}"
        assert entry.data == {"message_id": last.pk, "channel": "sms", "source": last.source}
        assert entry.occurred_at >= last.sent_at
