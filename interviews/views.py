from django.shortcuts import render

from recruitflow.decorators import organization_required


@organization_required
def interview_list(request):
    return render(request, "interviews/list.html")
