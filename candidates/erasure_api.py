"""Partner API: delete a candidate's personal data (``POST /api/v1/candidates/<id>/erase/``),
for a data-subject request arriving through another system. The same deletion as the candidate
page's button (:func:`candidates.erasure.erase_candidate`)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import IsOrganizationMember, request_membership

from .api import _id_or_404, _organization
from .erasure import erase_candidate, who_asked
from .models import Candidate, CandidateErasure


class CanEraseCandidates(IsOrganizationMember):
    """A read-and-write API key (keys are made by owners and admins), or a signed-in owner or
    admin; a read-only key or another role is refused with the reason."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        membership = request_membership(request)
        if membership is not None and not membership.is_admin:
            self.message = "Only owners and admins can delete a candidate's personal data."
            return False
        return True


class CandidateErasureSerializer(serializers.ModelSerializer):
    candidate = serializers.IntegerField(source="candidate_id", help_text="The candidate's id.")
    requested_by = serializers.SerializerMethodField(
        help_text="Who asked: the team member, or the API key by its name."
    )
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="How many rows of each kind were emptied (they stay, without their contents).",
    )
    problems = serializers.ListField(
        child=serializers.CharField(),
        help_text="What could not be done, e.g. a calendar service that refused to remove an "
        "interview event; empty when everything was deleted.",
    )

    class Meta:
        model = CandidateErasure
        fields = ["candidate", "erased_at", "requested_by", "counts", "problems"]

    def get_requested_by(self, record: CandidateErasure) -> str:
        return who_asked(record)


_ERASED_EXAMPLE = {
    "candidate": 4211,
    "erased_at": "2026-03-02T09:14:03Z",
    "requested_by": "the API key “Data requests”",
    "counts": {
        "messages": 12,
        "message_events": 30,
        "bookings": 1,
        "calendar_events_removed": 1,
        "scheduling_requests": 0,
        "video_interviews": 1,
        "recording_files": 6,
        "reviews": 2,
        "ats_writes": 8,
        "ats_writes_stopped": 1,
        "partner_events": 14,
        "partner_attempts": 15,
        "notifications": 3,
        "webhook_deliveries": 9,
        "provider_call_errors": 0,
        "api_answers": 1,
        "timeline_entries": 19,
    },
    "problems": [],
}


@extend_schema_view(
    post=extend_schema(
        summary="Delete a candidate's personal data",
        operation_id="candidates_erase",
        description="Empties everything RecruitFlow holds that identifies or describes the "
        "candidate (no body): their name, e-mail addresses and phone numbers; the subject, "
        "body and addresses of every message to and from them; their bookings' titles (and "
        "the interview events in the team's calendars; an upcoming interview is cancelled "
        "without a message); their video recordings and the reviewers' notes; the texts of "
        "their timeline; the copies kept elsewhere: notes and files for the ATS (one not yet "
        "written never is), partner webhook payloads and their delivery log (a delivery still "
        "waiting goes out erased), the vendors' webhooks as received, vendor errors quoting "
        "them, this API's stored answers (idempotent replays) and the team's notifications. "
        "Rows stay, so counts stay; opt-out records stay so they are never contacted against "
        "their wishes. The erasure is recorded (who, when, counts) and a "
        "later sync does not bring the data back. Calling it again empties what arrived "
        "since. Needs a read-and-write key or an owner or admin; another organization's "
        "candidate is 404.",
        request=None,
        responses={200: CandidateErasureSerializer},
        examples=[
            OpenApiExample(
                "Erased", value=_ERASED_EXAMPLE, response_only=True, status_codes=["200"]
            )
        ],
    )
)
class CandidateEraseView(APIView):
    """Delete a candidate's personal data (a data-subject erasure request)."""

    permission_classes = [CanEraseCandidates]
    serializer_class = CandidateErasureSerializer

    def post(self, request, pk):
        organization = _organization(request)
        candidate = Candidate.objects.filter(organization=organization, pk=_id_or_404(pk)).first()
        if candidate is None:
            raise exceptions.NotFound("No such candidate in your organization.")
        api_key = getattr(request._request, "api_key", None)
        record = erase_candidate(
            organization=organization,
            candidate=candidate,
            requested_by=api_key if api_key is not None else request.user,
        )
        return Response(CandidateErasureSerializer(record).data)
