from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import demo_seed


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo organization and its login, connected to the sandbox "
        "Greenhouse when SANDBOX_URL is set. Safe to run repeatedly."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wire-sandbox",
            action="store_true",
            help="Also wait for the sandbox and the web app to answer, test the connection, "
            "request the first sync and point the sandbox's webhook at this app (what "
            "`make run` does in the background).",
        )
        parser.add_argument("--wait", type=float, default=120, help="Seconds to wait at most.")

    def handle(self, *args, **options):
        organization = demo_seed(email=settings.DEMO_EMAIL, password=settings.DEMO_PASSWORD)
        sandbox = settings.SANDBOX_URL
        if options["wire_sandbox"]:
            if not sandbox:
                self.stderr.write("SANDBOX_URL is empty: nothing to wire.")
                return
            # The ATS wiring belongs to `candidates` (it starts syncs); imported here, at the
            # edge, so `accounts` itself stays free of it.
            from candidates.demo import demo_sandbox_wire

            demo_sandbox_wire(
                organization=organization,
                sandbox_url=sandbox,
                public_base_url=settings.PUBLIC_BASE_URL,
                wait_seconds=options["wait"],
                log=lambda line: self.stdout.write(f"[demo] {line}"),
            )
            return
        if sandbox:
            from candidates.demo import demo_greenhouse_connect

            demo_greenhouse_connect(organization=organization, sandbox_url=sandbox)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organization '{organization.name}' ready: "
                f"sign in as {settings.DEMO_EMAIL} / {settings.DEMO_PASSWORD}"
            )
        )
