"""The Inbox thread's "Download transcript (PDF)": the conversation's SMS transcript, for the
organization's members only (another organization's conversation, or a hidden candidate's, is
a 404)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from messaging.inbox import conversation_get
from recruitflow.decorators import organization_required
from writeback.transcripts import transcript_render


@require_GET
@organization_required
def transcript_download(request, pk: int):
    conversation = conversation_get(organization=request.organization, pk=pk)
    if conversation is None:
        raise Http404("No such conversation.")
    transcript = transcript_render(organization=request.organization, conversation=conversation)
    response = HttpResponse(transcript.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{transcript.filename}"'
    response["Cache-Control"] = "no-store, private"
    return response
