"""Writes to the ATS mirror: starting and running syncs, storing and processing webhooks.

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
    WEBHOOK_MAX_SWEEPS,
    WEBHOOK_RETRY_AFTER,
    webhook_event_process,
    webhook_event_record,
    webhook_events_reprocess,
    webhook_events_sweep,
    webhook_retry_delay,
)
