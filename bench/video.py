"""Benchmark of the candidate's video upload and of answer processing.

    DATABASE_URL=postgres://... .venv/bin/python bench/video.py [--mb 64] [--chunk-kb 1024]
        [--video-seconds 30]

Starts gunicorn on a free loopback port (2 sync workers, DEBUG=0) with the product's WSGI app
plus one plain upload endpoint (bench/video_server.py), and creates a throwaway organization
with a started video interview.

(a) Upload throughput: ``mb`` MB of random bytes sent as one take through the recorder's
    chunked protocol (start the take, PUT each chunk with its Content-Range, finish), as the
    page does, one chunk after the other; then the same bytes in one plain POST streamed to a
    file by the same server. MB/s of both and the chunked rate as a fraction of the plain one.
    The chunks land in the recordings storage (the filesystem by default), each in its own
    transaction that locks the take's row.
(b) Processing: a test video of ``video-seconds`` seconds (ffmpeg's lavfi testsrc + sine, VP8 +
    Opus in WebM at 640×480, 30 fps, as Chromium records) uploaded the same way, then processed
    in this process (interviews.processing.answer_process: probe, H.264/AAC MP4 rendition,
    poster); seconds of processing per minute of video.

Floors, measured in the same run: the plain upload of (a) (ratio: the chunked rate as a fraction
of it) and ffmpeg's transcode of (b)'s file alone (processing_ratio: its time over ours).

Human lines first, then one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruitflow.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.services import organization_create  # noqa: E402
from candidates.models import Candidate  # noqa: E402
from interviews import processing  # noqa: E402
from interviews.models import Answer, InterviewStatus, VideoInterview, VideoTemplate  # noqa: E402
from recruitflow.tenancy import scopes_disabled, tenant_scope  # noqa: E402

MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_interview():
    stamp = int(time.time())
    owner = get_user_model().objects.create_user(
        username=f"video-bench-{stamp}@bench.test", email=f"video-bench-{stamp}@bench.test"
    )
    org = organization_create(name=f"Video bench {stamp}", owner=owner)
    with tenant_scope(org):
        candidate = Candidate.objects.create(
            organization=org, provider="greenhouse", external_id=f"bench-{stamp}",
            first_name="Bench", last_name="Candidate", primary_email="bench@example.com",
        )  # fmt: skip
        template = VideoTemplate.objects.create(organization=org, name="Bench")
        now = timezone.now()
        interview = VideoInterview.objects.create(
            organization=org, template=template, candidate=candidate,
            status=InterviewStatus.STARTED, questions=[
                {"text": "Upload", "think_seconds": 0, "answer_seconds": 900, "retakes": 5},
                {"text": "Video", "think_seconds": 0, "answer_seconds": 900, "retakes": 5},
            ],
            invited_at=now, expires_at=now + timedelta(days=1), consent_at=now, started_at=now,
        )  # fmt: skip
    return org, owner, interview


def chunked_upload(base: str, interview, question: int, data: bytes, chunk: int) -> float:
    """Seconds to send ``data`` as one take, chunk after chunk, as the recorder page does."""
    session = requests.Session()
    page = base + reverse("interviews_public:recorder", args=[interview.token])
    session.get(page).raise_for_status()
    headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": page}
    started = time.perf_counter()
    take = session.post(
        base + reverse("interviews_public:take_start", args=[interview.token]),
        json={"question": question, "content_type": "video/webm"},
        headers=headers,
    )
    take.raise_for_status()
    take = take.json()
    offset = 0
    while offset < len(data):
        piece = data[offset : offset + chunk]
        answer = session.put(
            base + take["chunks"], data=piece,
            headers={**headers, "Content-Type": "application/octet-stream",
                     "Content-Range": f"bytes {offset}-{offset + len(piece) - 1}/*"},
        )  # fmt: skip
        answer.raise_for_status()
        offset = answer.json()["offset"]
    done = session.post(base + take["finish"], json={"size": len(data)}, headers=headers)
    done.raise_for_status()
    elapsed = time.perf_counter() - started
    assert done.json()["take"]["status"] in ("uploaded", "failed"), done.text
    return elapsed


def plain_upload(base: str, data: bytes) -> float:
    started = time.perf_counter()
    answer = requests.post(
        f"{base}/_bench/plain-upload", data=data,
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    answer.raise_for_status()
    assert answer.json()["size"] == len(data)
    return time.perf_counter() - started


def plain_pieces(base: str, data: bytes, chunk: int) -> float:
    """Seconds to send ``data`` as plain requests of ``chunk`` bytes each: what the HTTP
    requests alone cost, without the upload protocol's work."""
    session = requests.Session()
    started = time.perf_counter()
    for offset in range(0, len(data), chunk):
        answer = session.post(
            f"{base}/_bench/plain-upload", data=data[offset : offset + chunk],
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip
        answer.raise_for_status()
    return time.perf_counter() - started


def test_video(path: Path, seconds: int) -> bytes:
    subprocess.run(
        [processing.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc=size=640x480:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M",
         "-c:a", "libopus", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="MB uploaded each way")
    parser.add_argument("--chunk-kb", type=int, default=1024, help="chunk size of the page")
    parser.add_argument("--video-seconds", type=int, default=30, help="length of the test video")
    args = parser.parse_args()

    org, owner, interview = make_interview()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0",
           "CSRF_COOKIE_SECURE": "0", "STATIC_MANIFEST": "0", "ALLOWED_HOSTS": "127.0.0.1",
           "CSRF_TRUSTED_ORIGINS": base}  # fmt: skip
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "video_server:application", "--pythonpath",
         f"{ROOT},{ROOT / 'bench'}", "-b", f"127.0.0.1:{port}", "--workers", "2",
         "--timeout", "300", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                requests.get(f"{base}/healthz", timeout=3)
                break
            except requests.RequestException:
                time.sleep(0.1)
        data = os.urandom(args.mb * MB)
        chunk = args.chunk_kb * 1024
        # Warm both paths once (imports, connections), then measure.
        chunked_upload(base, interview, 0, data[: 2 * MB], chunk)
        plain_upload(base, data[: 2 * MB])
        chunked_s = chunked_upload(base, interview, 0, data, chunk)
        plain_s = plain_upload(base, data)
        pieces_s = plain_pieces(base, data, chunk)
        chunked_rate, plain_rate = args.mb / chunked_s, args.mb / plain_s
        pieces_rate = args.mb / pieces_s
        chunks = -(-len(data) // chunk)
        print(
            f"(a) {args.mb} MB over loopback: chunked ({chunks} chunks of {args.chunk_kb} KB) "
            f"{chunked_rate:.1f} MB/s in {chunked_s:.2f} s; one plain request {plain_rate:.1f} "
            f"MB/s in {plain_s:.2f} s; chunked = {chunked_rate / plain_rate:.0%} of plain"
        )
        print(
            f"    the same chunks as plain requests with no upload protocol: {pieces_rate:.1f} "
            f"MB/s (the HTTP requests' own share of the difference)"
        )

        with tempfile.TemporaryDirectory() as folder:
            video = test_video(Path(folder) / "answer.webm", args.video_seconds)
            # The floor of (b): ffmpeg's transcode of the same file with the same settings,
            # alone (no probe, poster, storage or database).
            started = time.perf_counter()
            processing.transcode(str(Path(folder) / "answer.webm"), str(Path(folder) / "floor.mp4"))
            transcode_s = time.perf_counter() - started
        chunked_upload(base, interview, 1, video, 256 * 1024)
        with tenant_scope(org):
            answer = Answer.objects.filter(interview=interview, question_index=1).latest("attempt")
            started = time.perf_counter()
            answer = processing.answer_process(answer=answer)
            processing_s = time.perf_counter() - started
        assert answer.status == "ready", answer.error
        per_minute = processing_s / answer.duration_seconds * 60
        print(
            f"(b) {answer.duration_seconds:.1f} s of 640x480 WebM ({len(video) / MB:.1f} MB) "
            f"processed in {processing_s:.1f} s: {per_minute:.1f} s per minute of video "
            f"(MP4 rendition {answer.rendition.size / MB:.1f} MB, poster, duration)"
        )
        print(
            f"    floor: ffmpeg's transcode of the same file alone took {transcode_s:.1f} s; "
            f"processing is {transcode_s / processing_s:.0%} as fast"
        )
        print(
            json.dumps(
                {
                    "bench": "video",
                    "upload_mb": args.mb,
                    "chunk_kb": args.chunk_kb,
                    "chunked_mb_per_s": round(chunked_rate, 2),
                    "plain_mb_per_s": round(plain_rate, 2),
                    "chunked_fraction_of_plain": round(chunked_rate / plain_rate, 3),
                    "plain_in_chunks_mb_per_s": round(pieces_rate, 2),
                    "video_seconds": answer.duration_seconds,
                    "processing_seconds": round(processing_s, 2),
                    "processing_seconds_per_video_minute": round(per_minute, 2),
                    "floor": {
                        "plain_upload_mb_per_s": round(plain_rate, 2),
                        "transcode_alone_seconds": round(transcode_s, 2),
                    },
                    "ratio": round(chunked_rate / plain_rate, 3),
                    "processing_ratio": round(transcode_s / processing_s, 3),
                }
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        with tenant_scope(org):
            for answer in Answer.objects.filter(interview=interview):
                for field in (answer.original, answer.rendition, answer.poster):
                    if field.name:
                        field.delete(save=False)
            # The interview protects its template: it goes first, then the organization.
            VideoInterview.objects.filter(pk=interview.pk).delete()
        with scopes_disabled():
            org.delete()
            owner.delete()


if __name__ == "__main__":
    main()
