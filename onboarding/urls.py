from django.urls import path

from . import views

app_name = "onboarding"
urlpatterns = [
    path("starters/", views.starter_gallery, name="starters"),
    path("starters/<slug:slug>/copy/", views.starter_copy, name="starter_copy"),
]
