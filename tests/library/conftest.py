"""Fixtures for the Library tests: the journeys tests' small ATS mirror and journey builder, for
the tests that send or dry-run a Library template through a journey."""

from tests.journeys.conftest import ats, eager_tasks, make_journey  # noqa: F401
