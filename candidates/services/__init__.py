"""Writes to the ATS mirror: starting and running syncs, storing ATS webhooks and applying their events.

The sync machinery (bulk upserts, the stage diff, paging) is in ``candidates.sync``.
"""

from candidates.services.candidate import (  # noqa: F401
    candidate_find_or_create_public,
    candidate_time_zone_set,
)
from candidates.services.syncs import (  # noqa: F401
    RATE_LIMIT_PAUSE,
    STALE_SYNC_AFTER,
    NoATSConnection,
    SyncAlreadyRunning,
    sync_execute,
    sync_request,
    sync_runs_fail_stale,
)
from candidates.services.webhook_events import (  # noqa: F401
    ats_event_apply,
    ats_webhook_store,
)
