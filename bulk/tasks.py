"""Bulk actions run in a worker: load the action by id, work through its candidates.
``bulk.resume_stalled`` runs on beat every minute (registered by
``bulk/migrations/0002_resume_schedule.py``) and queues again an action whose worker stopped."""

from celery import shared_task

from recruitflow.tasks import OrganizationTask

from . import services


@shared_task(base=OrganizationTask, name=services.RUN_TASK)
def run_action(organization, action_id: int) -> None:
    services.bulk_run(organization=organization, action_id=action_id)


@shared_task(name="bulk.resume_stalled")
def resume_stalled() -> int:
    return services.bulk_resume_stalled()
