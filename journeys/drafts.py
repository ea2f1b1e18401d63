"""Writes of the builder's Draft / Publish model.

Once a journey has been activated (published), the builder's edits go to a draft version
(``Journey.draft_version``, made by ``services.journey_version_for_edit(draft=True)`` as a copy
of the live version). The live version keeps running until :func:`journey_publish` makes the
draft current (and the journey active); :func:`journey_discard_draft` throws the draft away.
Runs keep the version they started with either way.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import Journey
from .services import activation_problems, journey_reindex

NO_DRAFT = "There is no draft to publish: edit the journey first, then publish the changes."


@transaction.atomic
def journey_publish(*, journey: Journey, user=None) -> Journey:
    """Make the draft the version new runs start with and activate the journey. Refused, with
    every reason, when the draft could not run (the checks of activation)."""
    journey = Journey.objects.select_for_update().get(pk=journey.pk)
    draft = journey.draft_version
    if draft is None:
        raise ValidationError(NO_DRAFT)
    problems = activation_problems(draft)
    if problems:
        raise ValidationError(problems)
    journey.current_version = draft
    journey.draft_version = None
    fields = ["current_version", "draft_version", "updated_at"]
    if not journey.is_active:
        journey.is_active = True
        journey.activated_at = timezone.now()
        fields += ["is_active", "activated_at"]
    journey.save(update_fields=fields)
    journey_reindex(version=draft)
    return journey


@transaction.atomic
def journey_discard_draft(*, journey: Journey) -> Journey:
    """Delete the draft: the builder shows the live version again."""
    journey = Journey.objects.select_for_update().get(pk=journey.pk)
    draft = journey.draft_version
    if draft is None:
        raise ValidationError("There is no draft to discard: the journey shows its live version.")
    if draft.runs.exists():  # runs start from the current version only; kept as a guard
        raise ValidationError("Candidates already run this draft, so it can't be discarded.")
    journey.draft_version = None
    journey.save(update_fields=["draft_version", "updated_at"])
    draft.delete()
    return journey
