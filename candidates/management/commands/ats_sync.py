"""Run one ATS sync of an organization in this process and print what it did."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from candidates import services
from recruitflow.tenancy import tenant_scope


class Command(BaseCommand):
    help = "Sync an organization's ATS now (synchronously) and print counts, time and API calls."

    def add_arguments(self, parser):
        parser.add_argument("organization", help="Organization id or slug")
        parser.add_argument(
            "--full", action="store_true", help="Re-read everything, not only recent changes"
        )

    def handle(self, *args, organization: str, full: bool, **options):
        lookup = {"pk": int(organization)} if organization.isdigit() else {"slug": organization}
        org = Organization.objects.filter(**lookup).first()
        if org is None:
            raise CommandError(f"No organization {organization!r}.")
        with tenant_scope(org):
            try:
                sync_run = services.sync_request(organization=org, full=full, enqueue=False)
            except (services.SyncAlreadyRunning, services.NoATSConnection) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Syncing {org.name} ({sync_run.provider}, {sync_run.kind})…")
            sync_run = services.sync_execute(sync_run=sync_run)
        counts = ", ".join(f"{k} {v}" for k, v in sync_run.counts.items())
        self.stdout.write(f"Status: {sync_run.status}")
        self.stdout.write(f"Counts: {counts or 'none'}")
        self.stdout.write(f"Duration: {sync_run.duration_seconds or 0:.2f} s")
        self.stdout.write(f"API calls: {sync_run.api_calls}")
        if sync_run.error:
            self.stdout.write(self.style.ERROR(f"Error: {sync_run.error}"))
            raise CommandError("The sync failed.")
