from django.shortcuts import render

from recruitflow.decorators import organization_required


@organization_required
def schedule(request):
    return render(request, "scheduling/schedule.html")
