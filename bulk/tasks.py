"""Bulk actions run in a worker: load the action by id, work through its candidates."""

from celery import shared_task

from recruitflow.tasks import OrganizationTask

from . import services


@shared_task(base=OrganizationTask, name=services.RUN_TASK)
def run_action(organization, action_id: int) -> None:
    services.bulk_run(organization=organization, action_id=action_id)
