"""The organization-aware Celery base task.

Tasks receive ids, never model instances. A task declared with `base=OrganizationTask` takes the
organization id as its first argument; the base loads the organization and runs the body inside
`tenant_scope(org)`, passing the organization in:

    @shared_task(base=OrganizationTask)
    def sync_organization(organization, *, full=False): ...

    sync_organization.delay_on_commit(org.pk, full=True)
"""

from celery import Task, current_app
from django.db import transaction

from accounts.models import Organization
from recruitflow.tenancy import tenant_scope


class OrganizationTask(Task):
    abstract = True

    def __call__(self, organization_id, *args, **kwargs):
        organization = Organization.objects.filter(pk=organization_id, is_active=True).first()
        if organization is None:
            # The organization was deleted or deactivated after the task was queued.
            return None
        with tenant_scope(organization):
            return self.run(organization, *args, **kwargs)

    def delay_on_commit(self, *args, **kwargs):
        transaction.on_commit(lambda: self.delay(*args, **kwargs))


def send_task_by_name(name: str, args: list) -> None:
    """Queue a task of a higher app by its name, so the lower app does not import it (design
    §3). With ``CELERY_TASK_ALWAYS_EAGER`` (tests, one-process setups) a task sent by name would
    otherwise never run: it runs in process instead."""
    app = current_app
    if app.conf.task_always_eager:
        app.loader.import_default_modules()
        app.tasks[name].apply(args=args, throw=app.conf.task_eager_propagates)
        return
    app.send_task(name, args=args)


def task_named(name: str) -> Task:
    """The registered task called ``name``, so a service can queue a task of its own app (whose
    module imports the service) without importing the task module: the task module imports its
    service, never the reverse. Workers and the web process find the apps' task modules on first
    use."""
    app = current_app
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]
