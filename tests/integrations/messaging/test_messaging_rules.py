"""Pure messaging rules: opt-out keywords, SMS segments, status transitions, error wording."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from integrations.messaging import (
    TWILIO_ERROR_EXPLANATIONS,
    InvalidNumber,
    MessagingTransientError,
    OptedOut,
    ProviderError,
    RateLimited,
    classify_keyword,
    is_ambiguous,
    is_terminal,
    should_apply,
    sms_segments,
    twilio_error_explanation,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", "stop"),
        ("stop", "stop"),
        ("  Stop \n", "stop"),
        ("Stop!", "stop"),
        ("STOPALL", "stop"),
        ("unsubscribe", "stop"),
        ("Cancel", "stop"),
        ("END", "stop"),
        ("quit", "stop"),
        ("REVOKE", "stop"),
        ("optout", "stop"),
        ("START", "start"),
        ("unstop", "start"),
        ("Yes", "start"),
        ("HELP", "help"),
        ("info", "help"),
        ("OPT OUT", None),
        ("please stop texting me", None),
        ("stop it", None),
        ("Yes, I can make Tuesday", None),
        ("", None),
        (None, None),
        ("STOPPING", None),
    ],
)
def test_keyword_is_recognised_only_when_it_is_the_whole_message(body, expected):
    assert classify_keyword(body) == expected


def test_160_gsm_characters_fit_one_segment():
    assert sms_segments("a" * 160) == ("GSM-7", 1, 160)


def test_161_gsm_characters_need_two_segments():
    assert sms_segments("a" * 161) == ("GSM-7", 2, 161)


def test_long_gsm_text_splits_every_153_septets():
    assert sms_segments("a" * 306) == ("GSM-7", 2, 306)
    assert sms_segments("a" * 307) == ("GSM-7", 3, 307)


def test_euro_sign_costs_two_septets_but_stays_gsm():
    assert sms_segments("€") == ("GSM-7", 1, 2)
    assert sms_segments("a" * 159 + "€") == ("GSM-7", 2, 161)


def test_escape_pair_is_never_split_across_segments():
    # 152 plain + "€" would straddle the 153-septet boundary, so "€" moves to part 2.
    encoding, segments, chars = sms_segments("a" * 152 + "€" + "a" * 152)
    assert (encoding, chars) == ("GSM-7", 306)
    assert segments == 3


def test_accented_letters_in_the_gsm_table_do_not_switch_encoding_but_others_do():
    assert sms_segments("Café à 10h? ¿Señor Müller")[0] == "GSM-7"
    assert sms_segments("Sí, gracias")[0] == "UCS-2"  # "í" is not in GSM-7


def test_an_emoji_switches_the_whole_text_to_ucs2_with_70_and_67_limits():
    assert sms_segments("Thanks 🙂") == ("UCS-2", 1, 9)
    assert sms_segments("x" * 70 + "ç") == ("UCS-2", 2, 71)  # ç is not GSM-7
    assert sms_segments("é" * 69 + "🙂") == ("UCS-2", 2, 71)
    assert sms_segments("ç" * 70) == ("UCS-2", 1, 70)
    assert sms_segments("ç" * 134) == ("UCS-2", 2, 134)
    assert sms_segments("ç" * 135) == ("UCS-2", 3, 135)


def test_empty_text_has_no_segments():
    assert sms_segments("") == ("GSM-7", 0, 0)


@pytest.mark.parametrize("status", ["delivered", "undelivered", "failed", "read", "canceled"])
def test_terminal_statuses_are_terminal(status):
    assert is_terminal(status)


@pytest.mark.parametrize("status", ["queued", "accepted", "sending", "sent", None])
def test_in_flight_statuses_are_not_terminal(status):
    assert not is_terminal(status)


def test_late_callbacks_never_move_a_message_out_of_a_terminal_state():
    assert should_apply("queued", "sent")
    assert should_apply("sent", "delivered")
    assert not should_apply("delivered", "sent")
    assert not should_apply("failed", "delivered")
    assert not should_apply("undelivered", "queued")
    assert not should_apply("sent", "queued")
    assert not should_apply("delivered", "delivered")


def test_a_read_receipt_may_follow_delivered():
    assert should_apply("delivered", "opened")
    assert not should_apply("opened", "delivered")


def test_carrier_errors_are_explained_in_plain_english():
    assert twilio_error_explanation(30003) == "The phone was switched off or out of coverage"
    assert twilio_error_explanation("30006") == "Landline or unreachable carrier"
    assert twilio_error_explanation(30007) == "Filtered by the carrier as spam"
    for code in (21211, 21610, 21408, 21612, 30005, 30008, 20429):
        assert code in TWILIO_ERROR_EXPLANATIONS
    assert "99999" in twilio_error_explanation(99999)
    assert twilio_error_explanation(None) is None


def test_recipient_errors_are_permanent_and_only_uncertain_sends_are_ambiguous():
    assert OptedOut("x").permanent and InvalidNumber("x").permanent
    assert issubclass(OptedOut, ProviderError)
    assert is_ambiguous(MessagingTransientError("x", ambiguous=True))
    assert not is_ambiguous(MessagingTransientError("x", ambiguous=False))
    assert not is_ambiguous(RateLimited("x"))
    assert not MessagingTransientError("x", ambiguous=True).permanent


def test_messaging_modules_import_without_django():
    code = (
        "import sys\n"
        "import integrations.messaging, integrations.sendgrid.provider\n"
        "import integrations.twilio.provider, integrations.textus.provider\n"
        "assert 'django' not in sys.modules, 'django was imported'\n"
    )
    env = {"PATH": "", "PYTHONPATH": "."}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
