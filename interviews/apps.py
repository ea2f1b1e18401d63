from django.apps import AppConfig


class InterviewsConfig(AppConfig):
    name = "interviews"
    verbose_name = "Interviews"

    def ready(self):
        # The journey step "Send video interview" registers itself with the journeys engine
        # and builder, in every process (web, worker, beat, tests); the processing of the
        # candidate's recorded answers (recording_tasks: not called tasks.py, so Celery's
        # autodiscovery would not find it) registers its tasks, and so does the recordings'
        # retention (retention_tasks); deleting a candidate's personal data deletes their
        # recordings: this app's eraser registers itself with candidates.erasure.
        from interviews import (
            erasure,  # noqa: F401
            recording_tasks,  # noqa: F401
            retention_tasks,  # noqa: F401
            steps,  # noqa: F401
        )
