"""What the ATS fakes share about received files: the download answer and sizes in words."""

from __future__ import annotations

import urllib.parse

from werkzeug.wrappers import Response


def download_response(content: bytes, content_type: str, filename: str) -> Response:
    """The file as a download, its name kept (RFC 6266 ``filename*`` for any character)."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace('"', "'")
    disposition = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(filename)}"
    )
    return Response(
        content,
        mimetype=content_type or "application/octet-stream",
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


def size_words(size: int | None) -> str:
    if size is None:
        return "size unknown"
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
