"""Running Python in a fresh interpreter of the project, for what only a new process shows
(settings read from the environment, what loading the app does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_json(code: str, **env: str):
    """Run ``code`` (which prints one JSON value last) in a new interpreter of the project, with
    the project's settings and ``env`` added to this environment; returns what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "recruitflow.settings", **env},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
