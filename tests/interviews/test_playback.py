"""Playing recordings kept on the filesystem: signed, short-lived URLs of a streaming view that
answers byte ranges, only for members of the organization who may see the candidate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts import services
from accounts.models import Role
from candidates.models import AtsUser
from interviews import playback
from interviews.models import Answer, AnswerStatus, InterviewStatus, VideoInterview
from interviews.playback import byte_range, playback_url
from recruitflow.tenancy import tenant_scope
from tests.factories import add_member
from tests.interviews.recordings import ORIGINAL, POSTER, RENDITION, recorded_answer
from tests.journeys.conftest import build_ats
from tests.outsider_walk import walk

SIZE = len(RENDITION)


@pytest.fixture(autouse=True)
def recordings_folder(settings, tmp_path):
    """Recordings in a folder of this test (the default storage backend: the filesystem)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "recordings"), "base_url": None},
        },
    }
    return tmp_path / "recordings"


@pytest.fixture
def ats(alice):
    return build_ats(alice.organization)


@pytest.fixture
def answer(ats):
    return recorded_answer(ats)


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_member_plays_the_whole_rendition_as_mp4_with_ranges_offered(
    client_for, bob, answer, recordings_folder
):
    url = playback_url(answer)
    assert url.startswith("/interviews/media/")
    # The file is on disk under the recordings folder, and nowhere in the URL.
    assert (recordings_folder / answer.rendition.name).read_bytes() == RENDITION
    assert answer.rendition.name not in url

    response = client_for(bob).get(url)

    assert response.status_code == 200
    assert _body(response) == RENDITION
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(SIZE)
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == "inline"
    cache = response["Cache-Control"]
    assert cache.startswith("private, max-age=") and 290 <= int(cache.rsplit("=", 1)[1]) <= 300


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),  # the first bytes (what a browser asks for first)
        ("bytes=5000-5999", 5000, 5999),  # the middle (a seek)
        ("bytes=10000-", 10000, SIZE - 1),  # from an offset to the end
        ("bytes=-500", SIZE - 500, SIZE - 1),  # the last 500 bytes (where MP4 indexes can be)
        ("bytes=10200-99999", 10200, SIZE - 1),  # past the end: cut at the end
        ("bytes=-99999", 0, SIZE - 1),  # a suffix longer than the file: all of it
    ],
)
def test_a_range_request_gets_206_with_exactly_those_bytes(
    client_for, bob, answer, header, first, last
):
    response = client_for(bob).get(playback_url(answer), HTTP_RANGE=header)

    assert response.status_code == 206
    assert _body(response) == RENDITION[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header", ["bytes=10240-", "bytes=20000-20100", "bytes=99-3", "bytes=-0", "bytes=abc-"]
)
def test_a_range_outside_the_file_or_malformed_is_answered_416(client_for, bob, answer, header):
    response = client_for(bob).get(playback_url(answer), HTTP_RANGE=header)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert f"{SIZE} bytes" in response.content.decode()


@pytest.mark.django_db
def test_several_ranges_or_another_unit_get_the_whole_file(client_for, bob, answer):
    client = client_for(bob)
    for header in ("bytes=0-9,20-29", "items=0-1"):
        response = client.get(playback_url(answer), HTTP_RANGE=header)
        assert response.status_code == 200, header
        assert _body(response) == RENDITION


@pytest.mark.django_db
def test_a_range_of_a_changed_file_gets_the_whole_new_file(client_for, bob, answer):
    """If-Range: the browser's cached part was of another version of the file."""
    client = client_for(bob)
    first = client.get(playback_url(answer), HTTP_RANGE="bytes=0-9")
    etag = first["ETag"]

    same = client.get(playback_url(answer), HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE=etag)
    changed = client.get(playback_url(answer), HTTP_RANGE="bytes=10-19", HTTP_IF_RANGE='"old"')

    assert same.status_code == 206 and _body(same) == RENDITION[10:20]
    assert changed.status_code == 200 and _body(changed) == RENDITION


@pytest.mark.django_db
def test_head_tells_the_size_without_the_bytes(client_for, bob, answer):
    response = client_for(bob).head(playback_url(answer), HTTP_RANGE="bytes=100-199")

    assert response.status_code == 206
    assert response["Content-Length"] == "100"
    assert response["Content-Range"] == f"bytes 100-199/{SIZE}"
    assert response.content == b""


@pytest.mark.django_db
def test_original_and_poster_play_with_their_own_content_types(client_for, bob, answer):
    client = client_for(bob)

    original = client.get(playback_url(answer, "original"))
    poster = client.get(playback_url(answer, "poster"))

    assert original["Content-Type"] == "video/webm" and _body(original) == ORIGINAL
    assert poster["Content-Type"] == "image/jpeg" and _body(poster) == POSTER


@pytest.mark.django_db
def test_a_member_of_another_organization_gets_404_with_a_valid_link(client_for, mallory, answer):
    response = client_for(mallory).get(playback_url(answer))

    assert response.status_code == 404
    assert RENDITION[:64] not in response.content


@pytest.mark.django_db
def test_a_hiring_manager_plays_only_their_jobs_candidates(client, ats, alice):
    organization = alice.organization
    with tenant_scope(organization):
        hannah_in_ats = AtsUser.objects.create(
            organization=organization,
            provider="greenhouse",
            external_id="u-hannah",
            name="Hannah Hiring",
            email="hannah@acme.test",
        )
        ats.jobs["Sales Rep"].hiring_managers.add(hannah_in_ats)
    hannah = add_member(
        organization=organization, email="hannah@acme.test", role=Role.HIRING_MANAGER
    ).user
    sales = recorded_answer(ats, job="Sales Rep", first_name="Sally")
    backend = recorded_answer(ats, job="Backend Engineer", first_name="Bert")
    client.force_login(hannah)

    assert client.get(playback_url(sales)).status_code == 200
    assert client.get(playback_url(backend)).status_code == 404

    # Sally also applied to Backend Engineer and recorded an interview for it: Hannah sees
    # Sally, but not that interview (as on the Interviews and review pages).
    candidate = sales.interview.candidate
    application, _ = ats.apply(candidate, job="Backend Engineer", stage="Phone Interview", new=True)
    with tenant_scope(organization):
        other = VideoInterview.objects.create(
            organization=organization,
            template=sales.interview.template,
            candidate=candidate,
            application=application,
            job=application.job,
            status=InterviewStatus.COMPLETED,
            questions=sales.interview.questions,
            expires_at=sales.interview.expires_at,
        )
        other_answer = Answer.objects.create(
            organization=organization,
            interview=other,
            question_index=0,
            status=AnswerStatus.READY,
            is_final=True,
        )
        other_answer.rendition.save("rendition.mp4", ContentFile(RENDITION), save=True)
    assert client.get(playback_url(other_answer)).status_code == 404


@pytest.mark.django_db
def test_an_expired_link_is_refused_and_says_to_reload(client_for, bob, answer, time_machine):
    url = playback_url(answer, ttl=60)
    client = client_for(bob)
    assert client.get(url).status_code == 200

    time_machine.move_to(timezone.now() + timedelta(seconds=61))
    response = client.get(url)

    assert response.status_code == 403
    assert "expired" in response.content.decode()
    assert RENDITION[:64] not in response.content


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_sign_in(client, answer):
    url = playback_url(answer)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "next=" in response["Location"]


@pytest.mark.django_db
def test_an_altered_link_is_404(client_for, bob, answer):
    url = playback_url(answer)
    token = url.split("/")[-2]
    # Sign the same kind of payload for another file of the organization, with another key.
    forged = signing.TimestampSigner(key="not-our-secret", salt="interviews.playback").sign_object(
        {"o": answer.organization_id, "a": answer.pk, "f": "original", "n": answer.original.name}
    )
    client = client_for(bob)

    assert client.get(url.replace(token, token[:-2] + "xx")).status_code == 404
    assert client.get(f"/interviews/media/{forged}/").status_code == 404


@pytest.mark.django_db
def test_a_link_to_deleted_or_replaced_recordings_is_404(client_for, bob, answer):
    client = client_for(bob)
    old_poster = playback_url(answer, "poster")
    rendition = playback_url(answer)
    with tenant_scope(answer.organization):
        answer.poster.save("poster-2.jpg", ContentFile(POSTER), save=True)
        assert client.get(old_poster).status_code == 404
        assert client.get(playback_url(answer, "poster")).status_code == 200

        answer.interview.recordings_deleted_at = timezone.now()
        answer.interview.save(update_fields=["recordings_deleted_at"])
    assert client.get(rendition).status_code == 404


@pytest.mark.django_db
def test_playback_url_explains_what_it_cannot_do(answer):
    with tenant_scope(answer.organization):
        answer.poster = ""
        with pytest.raises(ValueError, match="no poster file"):
            playback_url(answer, "poster")
    with pytest.raises(ValueError, match="use one of original, rendition, poster"):
        playback_url(answer, "thumbnail")
    with pytest.raises(ValueError, match="1 to 604800 seconds"):
        playback_url(answer, ttl=0)


def test_byte_ranges_follow_rfc_9110():
    assert byte_range("bytes=0-0", 10) == (0, 0)
    assert byte_range("bytes = 2-4", 10) == (2, 4)
    assert byte_range("bytes=-3", 10) == (7, 9)
    assert byte_range("bytes=0-1,5-6", 10) is None
    assert byte_range("pages=1-2", 10) is None
    for bad in ("bytes=", "bytes=-", "bytes=10-", "bytes=3-2", "bytes=1-x", "bytes=-0"):
        with pytest.raises(playback.RangeNotSatisfiable):
            byte_range(bad, 10)


@pytest.mark.django_db
def test_walking_the_streaming_url_with_real_links_leaks_nothing(alice, ats, mallory, answer):
    """The outsider walk with valid links of Acme's recordings: anonymous visitors, another
    organization's owner and API key, and a hiring manager on no hiring team are all refused
    and never get the bytes."""
    with tenant_scope(mallory.organization):
        _, outsider_key = services.api_key_create(
            actor=mallory.membership, name="Mallory", scope="write"
        )
    hiring_manager = add_member(
        organization=alice.organization, email="hank@acme.test", role=Role.HIRING_MANAGER
    ).user
    tokens = tuple(playback_url(answer, field).split("/")[-2] for field in playback.FIELDS)

    report = walk(
        victim=alice.organization,
        outsider_user=mallory.user,
        outsider_api_key=outsider_key,
        extra_markers=(RENDITION[:40].decode("latin-1"), "webm-take", "jpeg-poster"),
        hiring_manager=hiring_manager,
        hidden_markers=("webm-take", "jpeg-poster", "Recorded"),
        candidate_tokens=tokens,
        only_routes=("interviews/media/",),
    )

    assert not report.problems, "\n".join(map(str, report.problems))
    assert report.walked_patterns == {"interviews/media/(?P<token>[^/]+)/"}
    for token in tokens:
        assert f"/interviews/media/{token}/" in report.hiring_manager_object_urls
