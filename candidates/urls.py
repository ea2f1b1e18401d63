from django.urls import path

from . import erasure_views, timeline_views, views

app_name = "candidates"
urlpatterns = [
    path("", views.candidate_list, name="list"),
    path("<int:pk>/", views.candidate_detail, name="detail"),
    path("<int:pk>/erase/", erasure_views.candidate_erase, name="erase"),
    path("<int:pk>/timeline/", timeline_views.candidate_timeline, name="timeline"),
]
