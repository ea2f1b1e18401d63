"""Settings → ATS activity: the rules form."""

from __future__ import annotations

from django import forms

from writeback.models import NoteVisibility

RULE_LABELS = {
    "enabled": "Write activity to the ATS",
    "outbound_emails": "Outbound e-mails",
    "outbound_texts": "Outbound texts",
    "first_reply": "The candidate's first reply",
    "later_replies": "Later replies",
    "bookings": "Bookings (made, moved, cancelled)",
    "opt_outs": "Opt-outs and opt-ins",
    "journey_events": "Journey events (entered, finished, left)",
    "video_interviews": "Video interviews (the review link in the candidate's “Video Interview” "
    "field, and a note)",
    "sms_transcripts": "SMS transcripts (PDF file on the candidate)",
    "candidate_notice": "Tell each candidate once that their conversation is recorded in the ATS",
}


class RulesForm(forms.Form):
    enabled = forms.BooleanField(required=False, label=RULE_LABELS["enabled"])
    outbound_emails = forms.BooleanField(required=False, label=RULE_LABELS["outbound_emails"])
    outbound_texts = forms.BooleanField(required=False, label=RULE_LABELS["outbound_texts"])
    first_reply = forms.BooleanField(required=False, label=RULE_LABELS["first_reply"])
    later_replies = forms.BooleanField(required=False, label=RULE_LABELS["later_replies"])
    bookings = forms.BooleanField(required=False, label=RULE_LABELS["bookings"])
    opt_outs = forms.BooleanField(required=False, label=RULE_LABELS["opt_outs"])
    journey_events = forms.BooleanField(required=False, label=RULE_LABELS["journey_events"])
    video_interviews = forms.BooleanField(
        required=False,
        label=RULE_LABELS["video_interviews"],
        help_text="When a candidate completes a video interview. The field is a candidate "
        "custom field of type Long text named “Video Interview”; Settings → Integrations checks "
        "that it exists and says how to create it.",
    )
    sms_transcripts = forms.BooleanField(required=False, label=RULE_LABELS["sms_transcripts"])
    candidate_notice = forms.BooleanField(
        required=False,
        label=RULE_LABELS["candidate_notice"],
        help_text="Sent when the candidate's first text, e-mail, reply or booking is about to "
        "be written to the ATS (not at their first e-mail: a conversation by text is covered too, "
        "and nothing is claimed while nothing is written). One e-mail in your brand, shown in "
        "their Inbox thread, with a link where they can stop the recording themselves; you can "
        "resume it from their page. No notice goes to a candidate without an e-mail address, "
        "whom the ATS says not to e-mail or who unsubscribed, and it is not tried again.",
    )
    note_visibility = forms.ChoiceField(
        choices=NoteVisibility.choices,
        label="Note visibility",
        help_text="Public notes are visible to everyone who can see the candidate in the ATS, "
        "interviewers included. In an ATS whose notes are only secret or visible, Public is "
        "visible and the other two are secret.",
    )
    text_batch_minutes = forms.IntegerField(
        min_value=0,
        max_value=24 * 60,
        label="Texts per note (minutes)",
        help_text="The texts of one conversation within this many minutes go into one note. "
        "0 writes one note per text.",
    )
    transcript_quiet_hours = forms.IntegerField(
        min_value=1,
        max_value=24 * 14,
        label="Upload a transcript after (hours of quiet)",
    )
    acting_user_email = forms.EmailField(
        required=False,
        label="Write as (ATS user's e-mail)",
        help_text="Notes and files are made as this ATS user; type the e-mail they sign in "
        "to the ATS with.",
    )

    RULE_FIELDS = (
        "enabled",
        "outbound_emails",
        "outbound_texts",
        "first_reply",
        "later_replies",
        "bookings",
        "opt_outs",
        "journey_events",
        "video_interviews",
        "sms_transcripts",
        "candidate_notice",
        "note_visibility",
        "text_batch_minutes",
        "transcript_quiet_hours",
    )

    @classmethod
    def initial_from(cls, rules) -> dict:
        initial = {name: getattr(rules, name) for name in cls.RULE_FIELDS}
        initial["acting_user_email"] = rules.acting_user_email
        return initial

    def rule_changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.RULE_FIELDS}
