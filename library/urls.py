from django.urls import path

from . import views

app_name = "library"
urlpatterns = [
    path("", views.library_index, name="index"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/preview/", views.template_preview, name="template_preview"),
    path(
        "templates/preview/email/",
        views.template_preview_document,
        name="template_preview_document",
    ),
    path("templates/candidates/", views.template_candidates, name="template_candidates"),
    path("templates/options/", views.template_options, name="template_options"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("templates/<int:pk>/copy/", views.template_copy, name="template_copy"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
    path("templates/<int:pk>/render/", views.template_render, name="template_render"),
]
