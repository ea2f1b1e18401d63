from django.apps import AppConfig


class RecruitflowConfig(AppConfig):
    name = "recruitflow"
    verbose_name = "RecruitFlow"

    def ready(self) -> None:
        from . import changes, checks  # noqa: F401 — checks registers the deploy checks

        changes.connect()
