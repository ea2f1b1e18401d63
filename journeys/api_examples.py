"""Example bodies of the journeys API in the OpenAPI document (``journeys.api`` and
``journeys.draft_api``)."""

STEPS = [
    {"position": 1, "kind": "send_sms", "message_template_id": 59, "config": {}},
    {"position": 2, "kind": "wait", "config": {"mode": "duration", "days": 2}},
    {"position": 3, "kind": "condition", "config": {"check": "replied", "expect": False}},
    {"position": 4, "kind": "send_email", "message_template_id": 58, "config": {}},
]
JOURNEY_REQUEST = {
    "name": "Onsite invitation",
    "description": "Invite candidates who reach the onsite stage, and nudge them once.",
    "trigger": {"kind": "entered_stage"},
    "criteria": {"stage_names": ["Onsite"], "job_ids": [4471]},
    "exit_rules": ["left_stage", "rejected", "opted_out", "booked"],
    "steps": [{k: v for k, v in step.items() if k != "position"} for step in STEPS],
}
JOURNEY = {
    "id": 17,
    **JOURNEY_REQUEST,
    "is_active": True,
    "version": 3,
    "steps": STEPS,
    "criteria": {
        "stage_names": ["Onsite"],
        "job_ids": [4471],
        "office_ids": [],
        "department_ids": [],
        "statuses": [],
        "tags": [],
        "sources": [],
    },
    "trigger_summary": "When a candidate enters Onsite (Senior Engineer)",
    "draft": None,
    "runs_in_progress": 12,
    "activated_at": "2026-02-12T09:00:00Z",
    "created_at": "2026-02-10T15:30:00Z",
    "updated_at": "2026-02-12T09:00:00Z",
}
NEW_JOURNEY = {**JOURNEY, "is_active": False, "version": 1, "runs_in_progress": 0,
                "activated_at": None, "updated_at": "2026-02-10T15:30:00Z"}  # fmt: skip
PAUSED = {**JOURNEY, "is_active": False, "updated_at": "2026-03-06T08:00:00Z"}
FIRST_STEP = {
    "position": 1,
    "kind": "send_sms",
    "status": "done",
    "due_at": "2026-03-02T14:05:11Z",
    "held_until": None,
    "started_at": "2026-03-02T14:05:12Z",
    "finished_at": "2026-03-02T14:05:13Z",
    "message_id": 5119,
    "reason": "",
}
RUN = {
    "id": 9031,
    "journey_id": 17,
    "version": 3,
    "candidate": {"id": 2207, "name": "Sam Okafor"},
    "application_id": 1440,
    "transition_id": 66120,
    "status": "active",
    "reason": "",
    "started_at": "2026-03-02T14:05:11Z",
    "finished_at": None,
    "step_runs": [
        FIRST_STEP,
        {
            "position": 2,
            "kind": "wait",
            "status": "pending",
            "due_at": "2026-03-04T14:05:13Z",
            "held_until": None,
            "started_at": None,
            "finished_at": None,
            "message_id": None,
            "reason": "",
        },
    ],
}
