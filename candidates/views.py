from django.shortcuts import render

from recruitflow.decorators import organization_required


@organization_required
def candidate_list(request):
    return render(request, "candidates/list.html")
