from django.shortcuts import render

from recruitflow.decorators import organization_required


@organization_required
def inbox(request):
    return render(request, "messaging/inbox.html")
