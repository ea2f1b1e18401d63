"""Library → Video interview templates (mounted at /library/interviews/)."""

from django.urls import path

from . import library_views as views

app_name = "interviews_library"
urlpatterns = [
    path("", views.template_list, name="list"),
    path("new/", views.template_create, name="create"),
    path("<int:pk>/", views.template_edit, name="edit"),
    path("<int:pk>/copy/", views.template_copy, name="copy"),
    path("<int:pk>/delete/", views.template_delete, name="delete"),
]
