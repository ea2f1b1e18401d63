"""The product's settings with the bench's URL conf (the product's URLs plus the floor view)."""

from recruitflow.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor.urls"
