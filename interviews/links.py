"""The two links of a video interview: the candidate's recorder (public, signed by its token)
and the team's review page. Both absolute, from ``settings.PUBLIC_BASE_URL``, because they go
out in messages and into the ATS."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from .models import VideoInterview


def recorder_url(interview: VideoInterview) -> str:
    """Where the candidate records their answers (no sign-in; the token is the key)."""
    return settings.PUBLIC_BASE_URL + reverse("interviews_public:recorder", args=[interview.token])


def review_url(interview: VideoInterview) -> str:
    """Where a team member watches and rates the answers (members of the organization only)."""
    return settings.PUBLIC_BASE_URL + reverse("interviews:review", args=[interview.pk])
