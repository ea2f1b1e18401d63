"""`seed_demo`: the demo organization of `make run`. It lives in `recruitflow` because it wires
every domain (accounts, the ATS mirror, messaging, the Library, journeys and scheduling) and only the
project package may import them all (design §3)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import demo_seed
from analytics.demo import demo_history, demo_history_mirror, demo_history_written
from candidates.demo import demo_greenhouse_connect, demo_sandbox_wire
from candidates.models import SyncRun
from interviews.demo import demo_recorded_interview, demo_video_template
from journeys.demo import demo_onsite_journey, demo_onsite_journey_when_synced
from library.demo import demo_message_templates
from messaging.services import sandbox_sms_wire
from recruitflow.tenancy import tenant_scope
from scheduling.demo import demo_scheduling_step, demo_scheduling_template


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo organization and its login, with the Library's example "
        "templates and scheduling template, connected to the sandbox Greenhouse and the "
        "sandbox phone when SANDBOX_URL is set. Safe to run repeatedly."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wire-sandbox",
            action="store_true",
            help="Also wait for the sandbox and the web app to answer, test the connection, "
            "request the first sync, point the sandbox's webhook and phone number at this app "
            "and add the example journey with its scheduling step (what `make run` does in the "
            "background).",
        )
        parser.add_argument("--wait", type=float, default=120, help="Seconds to wait at most.")

    def handle(self, *args, **options):
        organization = demo_seed(email=settings.DEMO_EMAIL, password=settings.DEMO_PASSWORD)
        sandbox = settings.SANDBOX_URL
        log = lambda line: self.stdout.write(f"[demo] {line}")  # noqa: E731
        if options["wire_sandbox"]:
            if not sandbox:
                self.stderr.write("SANDBOX_URL is empty: nothing to wire.")
                return
            wired = demo_sandbox_wire(
                organization=organization,
                sandbox_url=sandbox,
                public_base_url=settings.PUBLIC_BASE_URL,
                wait_seconds=options["wait"],
                log=log,
            )
            self._wire_phone(organization, log)
            # The scheduling part of the example: its five messages in the Library, the
            # scheduling template "Onsite interview · Sales Rep" (public link on) and, once the
            # example journey exists, its "Send scheduling request" step.
            demo_scheduling_template(organization=organization)
            demo_video_template(organization=organization)
            # The example journey and the history need the first sync, not the webhook: a
            # webhook the sandbox could not reach still leaves a synced mirror to show.
            with tenant_scope(organization):
                sync_requested = SyncRun.objects.exists()
            if wired or sync_requested:
                demo_onsite_journey_when_synced(
                    organization=organization, wait_seconds=options["wait"], log=log
                )
            demo_scheduling_step(organization=organization, log=log)
            self._history(organization, log)
            return
        if sandbox:
            demo_greenhouse_connect(organization=organization, sandbox_url=sandbox)
            demo_message_templates(organization=organization)
        else:
            # No sandbox Greenhouse to sync from: a small mirror of its own, the example
            # journey on it, and the history, so the pages are not empty.
            with tenant_scope(organization):
                demo_history_mirror(organization=organization)
            demo_message_templates(organization=organization)
            demo_onsite_journey(organization=organization)
            demo_scheduling_template(organization=organization)
            demo_video_template(organization=organization)
            demo_scheduling_step(organization=organization, log=log)
            self._history(organization, log)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organization '{organization.name}' ready: "
                f"sign in as {settings.DEMO_EMAIL} / {settings.DEMO_PASSWORD}"
            )
        )

    def _history(self, organization, log) -> None:
        """Sixty days of stage changes, runs, messages and bookings (once)."""
        with tenant_scope(organization):
            counts = demo_history(organization=organization)
            history_written = demo_history_written(organization=organization)
        if counts is not None:
            log(
                f"Demo history: {counts.transitions} stage changes, {counts.runs} journey runs, "
                f"{counts.messages} messages, {counts.bookings} bookings, {counts.events} "
                "timeline entries over 60 days."
            )
        elif not history_written:
            log(
                "Demo history not written yet: it needs the synced jobs and the example "
                "journey; it is written on the next start."
            )
        interview = demo_recorded_interview(organization=organization)
        if interview is not None:
            log(
                f"Demo video interview: {interview.candidate.full_name} answered "
                f"{len(interview.questions)} questions; review it on the Interviews page."
            )

    def _wire_phone(self, organization, log) -> None:
        """Point the demo's sandbox number at this app, so a text typed on the sandbox phone
        reaches the Inbox before the product has texted anyone."""
        try:
            with tenant_scope(organization):
                wired = sandbox_sms_wire(organization=organization)
        except Exception as exc:  # the demo still works; the first text wires it again
            log(f"Sandbox phone number not wired yet: {exc}")
            return
        if wired:
            log(f"Sandbox phone number {wired.get('phone_number', '')} → this app's Inbox")
