from django.urls import path

from . import erasure_views, views

app_name = "candidates"
urlpatterns = [
    path("", views.candidate_list, name="list"),
    path("<int:pk>/", views.candidate_detail, name="detail"),
    path("<int:pk>/erase/", erasure_views.candidate_erase, name="erase"),
]
