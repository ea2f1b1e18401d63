from django.shortcuts import render

from recruitflow.decorators import organization_required


@organization_required
def journey_list(request):
    return render(request, "journeys/list.html")


@organization_required
def library(request):
    return render(request, "journeys/library.html")
