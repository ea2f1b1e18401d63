"""Partner API: pause and resume writing a candidate's activity to the ATS.

``GET /api/v1/candidates/<id>/ats-pause/`` says whether the candidate is paused;
``PUT`` pauses (what happens to them from then on is kept in RecruitFlow, marked "not written
(paused)"), ``DELETE`` resumes. Changes need a read-and-write key or an editing role; another
organization's candidate is a 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from candidates.models import Candidate
from writeback import services
from writeback.models import PauseSource, WritebackPause

TAG = ["ATS activity"]
_PAUSED = {
    "candidate": 2207,
    "paused": True,
    "paused_at": "2026-03-04T10:15:00Z",
    "paused_from": "api",
}
_WRITTEN = {"candidate": 2207, "paused": False, "paused_at": None, "paused_from": ""}


def _answer(name: str, value) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=["200"])


class AtsPauseSerializer(serializers.Serializer):
    candidate = serializers.IntegerField(help_text="The candidate's RecruitFlow id.")
    paused = serializers.BooleanField(help_text="True: nothing is written to the ATS for them.")
    paused_at = serializers.DateTimeField(allow_null=True)
    paused_from = serializers.CharField(
        allow_blank=True,
        help_text="Where the pause was made (candidate_page, inbox, api, candidate_link).",
    )


def _state(organization, candidate: Candidate) -> dict:
    pause = WritebackPause.objects.filter(organization=organization, candidate=candidate).first()
    return {
        "candidate": candidate.pk,
        "paused": pause is not None,
        "paused_at": pause.created_at if pause else None,
        "paused_from": pause.source if pause else "",
    }


class CandidateAtsPauseView(APIView):
    """Whether the candidate's activity is written to the ATS; pause (PUT) or resume (DELETE)."""

    def _candidate(self, pk: int) -> Candidate:
        return get_object_or_404(Candidate, pk=pk)

    @extend_schema(
        tags=TAG,
        responses=AtsPauseSerializer,
        operation_id="candidates_ats_pause_get",
        summary="Is a candidate's ATS write-back paused?",
        description="Whether the candidate's activity in RecruitFlow (messages, replies, "
        "bookings) is written to their record in the ATS, and if paused, since when and from "
        "where (a team member on the candidate page or in the Inbox, the API, or the candidate "
        "through the link in the recording notice). Any key may read it; another "
        "organization's candidate is 404.",
        examples=[_answer("Paused", _PAUSED), _answer("Written", _WRITTEN)],
    )
    def get(self, request, pk: int):
        organization = request._request.organization
        return Response(_state(organization, self._candidate(pk)))

    @extend_schema(
        tags=TAG,
        request=None,
        responses=AtsPauseSerializer,
        operation_id="candidates_ats_pause",
        summary="Pause a candidate's ATS write-back",
        description="From now on nothing of this candidate is written to the ATS: writes "
        'still waiting and what happens next are kept in RecruitFlow, marked "not written '
        '(paused)"; what was already written stays in the ATS. No body. Pausing a paused '
        "candidate keeps the first pause and answers it. Needs a "
        "read-and-write key or an editing role (403 otherwise); another organization's "
        "candidate is 404.",
        examples=[_answer("Paused", _PAUSED)],
    )
    def put(self, request, pk: int):
        organization = request._request.organization
        candidate = self._candidate(pk)
        services.candidate_pause(
            organization=organization, candidate=candidate, source=PauseSource.API
        )
        return Response(_state(organization, candidate))

    @extend_schema(
        tags=TAG,
        request=None,
        responses={200: AtsPauseSerializer},
        operation_id="candidates_ats_resume",
        summary="Resume a candidate's ATS write-back",
        description="Lifts the pause: the candidate's activity from now on is written to the "
        "ATS again (what happened while paused stays unwritten). Resuming a candidate who "
        "is not paused changes nothing. Needs a read-and-write key or an editing role; another "
        "organization's candidate is 404.",
        examples=[_answer("Written again", _WRITTEN)],
    )
    def delete(self, request, pk: int):
        organization = request._request.organization
        candidate = self._candidate(pk)
        services.candidate_resume(organization=organization, candidate=candidate)
        return Response(_state(organization, candidate))
