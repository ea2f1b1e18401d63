from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import demo_seed


class Command(BaseCommand):
    help = "Create (or refresh) the demo organization and its login. Safe to run repeatedly."

    def handle(self, *args, **options):
        organization = demo_seed(email=settings.DEMO_EMAIL, password=settings.DEMO_PASSWORD)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organization '{organization.name}' ready: "
                f"sign in as {settings.DEMO_EMAIL} / {settings.DEMO_PASSWORD}"
            )
        )
