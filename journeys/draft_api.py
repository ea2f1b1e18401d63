"""Partner API: the builder's Draft / Publish model. Changes to a live journey go to its draft
(``journeys.api``); these actions publish the draft, answering with what publishing changed in
words, or discard it. Publishing a journey that was never live makes it live, as
``POST /journeys/{id}/activate/`` does."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import drafts, services
from .api import Conflict, _acting_user, _journey_or_404
from .api_examples import JOURNEY
from .forms import CriteriaNames
from .serializers import JourneyActivationErrorSerializer, JourneySerializer
from .wording import publish_changes


class JourneyPublishedSerializer(serializers.Serializer):
    changes = serializers.ListField(
        child=serializers.CharField(),
        help_text="What publishing changed for candidates who enter from now on, in words.",
    )
    journey = JourneySerializer()


_PUBLISHED = {
    "changes": [
        "Moves “Send e-mail “Onsite details (e-mail)”” from step 3 to step 1.",
        "Step 3 changes from “Wait 1 day” to “Wait 2 days”.",
    ],
    "journey": {**JOURNEY, "version": 4},
}


@extend_schema_view(
    post=extend_schema(
        summary="Publish a journey's draft",
        operation_id="journeys_publish",
        description="Changes to a live journey go to its draft (`draft` on the journey); this "
        "makes the draft the live version and the journey active (no body). The answer lists "
        "what publishing changed, in words. Candidates already in the journey keep the version "
        "they started with. A journey that was never live is published as it is, which makes "
        "it live (the same as `POST /journeys/{id}/activate/`). 409 when there is no draft to "
        "publish or the draft can't run, listing every reason. Needs a read-and-write key.",
        request=None,
        responses={200: JourneyPublishedSerializer, 409: JourneyActivationErrorSerializer},
        examples=[OpenApiExample("Published", value=_PUBLISHED, response_only=True)],
    )
)
class JourneyPublishView(APIView):
    """Make a journey's draft live, answering with what changed."""

    serializer_class = JourneyPublishedSerializer

    def post(self, request, pk: int):
        journey = _journey_or_404(request, pk)
        first = not journey.is_published
        live, draft = (
            (None, journey.current_version)
            if first
            else (
                journey.current_version,
                journey.draft_version,
            )
        )
        changes: list[str] = []
        if draft is not None:
            names = CriteriaNames.for_versions(
                organization=journey.organization, versions=[v for v in (live, draft) if v]
            )
            changes = [change.text for change in publish_changes(live, draft, names)]
        try:
            if first:
                services.journey_activate(journey=journey, user=_acting_user(request))
            else:
                drafts.journey_publish(journey=journey, user=_acting_user(request))
        except DjangoValidationError as exc:
            raise Conflict({"detail": exc.messages}) from exc
        fresh = JourneySerializer(_journey_or_404(request, pk)).data
        return Response({"changes": changes, "journey": fresh})


@extend_schema_view(
    post=extend_schema(
        summary="Discard a journey's draft",
        operation_id="journeys_discard_draft",
        description="Deletes the draft of a live journey: the journey stays as its live "
        "version defines it (no body). 409 when there is no draft. Needs a read-and-write key.",
        request=None,
        responses={200: JourneySerializer, 409: JourneyActivationErrorSerializer},
        examples=[OpenApiExample("Discarded", value=JOURNEY, response_only=True)],
    )
)
class JourneyDiscardDraftView(APIView):
    """Throw a journey's draft away."""

    serializer_class = JourneySerializer

    def post(self, request, pk: int):
        journey = _journey_or_404(request, pk)
        try:
            drafts.journey_discard_draft(journey=journey)
        except DjangoValidationError as exc:
            raise Conflict({"detail": exc.messages}) from exc
        return Response(JourneySerializer(_journey_or_404(request, pk)).data)
