"""The candidate's recorder and its upload endpoints, mounted at /v/ (namespace
``interviews_public``).

The database keeps a random token per interview; the URL carries it *signed* with the project's
secret key (``<token>:<signature>``). The converter signs on ``reverse`` and checks on resolve,
so views receive the bare token and code builds links with
``reverse("interviews_public:recorder", args=[interview.token])`` as usual. A token read out of
the database (a backup, a log) is not a working link without the secret; a bare or tampered one
reaches the view as "" and gets the 404 page.
"""

from django.core import signing
from django.urls import path, register_converter
from django.urls.converters import get_converters

from . import public_views


class InterviewTokenConverter:
    regex = r"[A-Za-z0-9_:\-]+"
    salt = "interviews.recorder"

    def to_python(self, value: str) -> str:
        try:
            return signing.Signer(salt=self.salt).unsign(value)
        except signing.BadSignature:
            return ""

    def to_url(self, value: str) -> str:
        if not value:
            raise ValueError("A recorder link needs the interview's token.")
        return signing.Signer(salt=self.salt).sign(value)


if "interview_token" not in get_converters():  # the module may be imported twice
    register_converter(InterviewTokenConverter, "interview_token")

app_name = "interviews_public"
urlpatterns = [
    path("<interview_token:token>/", public_views.recorder, name="recorder"),
    path("<interview_token:token>/consent/", public_views.consent, name="consent"),
    path("<interview_token:token>/status/", public_views.status, name="status"),
    path("<interview_token:token>/takes/", public_views.take_start, name="take_start"),
    path(
        "<interview_token:token>/takes/<str:upload_id>/",
        public_views.take_chunk,
        name="take_chunk",
    ),
    path(
        "<interview_token:token>/takes/<str:upload_id>/finish/",
        public_views.take_finish,
        name="take_finish",
    ),
    path("<interview_token:token>/finish/", public_views.finish, name="finish"),
]
