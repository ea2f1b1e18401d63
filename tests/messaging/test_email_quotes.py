"""A reply lands in the Inbox without the message it quotes: Gmail's "On … wrote:", "> " lines,
Outlook's "From: / Sent: / To:" block and "Original Message" rules."""

import pytest

from messaging.services.inbound_email import trim_quoted

GMAIL = """Yes, Tuesday at 10 works for me.

Thanks,
Sam

On Tue, 3 Dec 2026 at 10:02, Acme Recruiting <
reply+c12-0123456789abcdef0123@reply.example.test> wrote:

> Hi Sam, could you come in on Tuesday?
> Best, Acme
"""

OUTLOOK = """Sounds good.

________________________________
From: Acme Recruiting <jobs@acme.test>
Sent: Tuesday, December 3, 2026 10:02 AM
To: Sam Okafor <sam@example.com>
Subject: Your interview

Hi Sam, could you come in on Tuesday?
"""

OUTLOOK_PLAIN = """I can do Wednesday instead.

From: Acme Recruiting <jobs@acme.test>
Date: Tuesday, 3 December 2026 at 10:02
To: Sam Okafor <sam@example.com>
Subject: Your interview

Hi Sam
"""


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (GMAIL, "Yes, Tuesday at 10 works for me.\n\nThanks,\nSam"),
        (OUTLOOK, "Sounds good."),
        (OUTLOOK_PLAIN, "I can do Wednesday instead."),
        ("> quoted only first\nMy answer\n> more quote", "My answer"),
        ("Top line\n-----Original Message-----\nold", "Top line"),
        ("On Mon, Acme <a@b.c> wrote:\n> all quote", "On Mon, Acme <a@b.c> wrote:\n> all quote"),
    ],
)
def test_quoted_text_is_trimmed_from_replies(reply, expected):
    assert trim_quoted(reply) == expected
