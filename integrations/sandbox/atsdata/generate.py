"""Deterministic generation of a company (seeded): departments, offices, users, custom
fields, jobs and stages, candidates and applications."""

from __future__ import annotations

import random
import time

from integrations.sandbox.atsdata.catalog import (
    COMPANIES,
    DAY,
    DEPARTMENTS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    INTERVIEW_NAMES,
    JOBS,
    LAST_NAMES,
    OFFICES,
    REJECTION_REASONS,
    SOURCES,
    STAGE_TEMPLATES,
    TAGS,
    TITLES,
)
from integrations.sandbox.atsdata.company import Company


def _phone(rng: random.Random, country: str) -> str:
    if country == "UK":
        n = rng.randrange(100000, 999999)
        return rng.choice([f"+44 7700 {n:06d}", f"+447700{n:06d}", f"07700 {n:06d}"])
    if country == "DE":
        n = rng.randrange(1000000, 99999999)
        return rng.choice([f"+49 151 {n}", f"+49151{n}", f"+49 170 {n}"])
    area = rng.choice([212, 415, 646, 917, 312, 512, 206, 617])
    n = rng.randrange(0, 10000)
    return rng.choice([f"+1{area}555{n:04d}", f"+1 {area}-555-{n:04d}", f"({area}) 555-{n:04d}"])


def _email_local(first: str, last: str, n: int) -> str:
    trans = str.maketrans({"ü": "ue", "é": "e", "'": "", " ": ""})
    return f"{first.lower().translate(trans)}.{last.lower().translate(trans)}{n}"


def generate_company(
    seed: int = 1,
    n_jobs: int = 20,
    n_candidates: int = 300,
    n_applications: int | None = None,
    now: float | None = None,
) -> Company:
    """Build a deterministic company.

    ``now`` anchors all timestamps (default: the current UTC day at midnight, so two calls on
    the same day give identical data).  ``n_applications`` defaults to about 1.3 per
    candidate; when it is much larger than ``n_candidates`` the number of candidates is raised
    to ``n_applications // 3`` so that people keep a realistic handful of applications each.
    """
    rng = random.Random(seed)
    if now is None:
        now = float(int(time.time() // DAY) * DAY)
    if n_applications is None:
        n_applications = int(n_candidates * 1.3)
    n_candidates = max(1, n_candidates, n_applications // 3)
    n_jobs = max(1, n_jobs)
    co = Company(seed=seed, now=now)
    co.counters = {"note": 2000000, "email": 3000000, "attachment": 4000000, "activity": 5000000}
    old = now - 400 * DAY

    # departments ---------------------------------------------------------------------------------
    by_name: dict[str, dict] = {}
    for i, (name, parent) in enumerate(DEPARTMENTS):
        d = {
            "id": 10001 + i,
            "name": name,
            "parent_id": by_name[parent]["id"] if parent else None,
            "external_id": f"dept-{name.lower().replace(' ', '-')}",
        }
        by_name[name] = d
        co.departments.append(d)
    # offices -------------------------------------------------------------------------------------
    office_by_name: dict[str, dict] = {}
    for i, (name, loc) in enumerate(OFFICES):
        o = {
            "id": 20001 + i,
            "name": name,
            "location": loc,
            "parent_id": None,
            "external_id": f"office-{name.lower().replace(' ', '-')}",
            "primary_contact_user_id": None,
        }
        office_by_name[name] = o
        co.offices.append(o)
    # users ---------------------------------------------------------------------------------------
    roles = ["admin"] + ["recruiter"] * 6 + ["coordinator"] * 4 + ["hiring_manager"] * 14
    used: set[tuple[str, str]] = set()
    for i, role in enumerate(roles):
        while True:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if (first, last) not in used:
                used.add((first, last))
                break
        created = old + rng.uniform(0, 200 * DAY)
        uid = 100001 + i
        email = f"{_email_local(first, last, '')}@recruitflow-demo.example.com".replace(".@", "@")
        co.users.append(
            {
                "id": uid,
                "first_name": first,
                "last_name": last,
                "name": f"{first} {last}",
                "email": email,
                "employee_id": f"E{1000 + i}",
                "site_admin": role == "admin",
                "disabled": False,
                "created_at": created,
                "updated_at": min(now, created + rng.uniform(0, 100 * DAY)),
                "role": role,
                "office_ids": [rng.choice(co.offices)["id"]],
                "department_ids": [rng.choice(co.departments)["id"]],
            }
        )
    office_by_name["New York"]["primary_contact_user_id"] = co.users[1]["id"]
    recruiters = [u for u in co.users if u["role"] == "recruiter"]
    coordinators = [u for u in co.users if u["role"] == "coordinator"]
    managers = [u for u in co.users if u["role"] == "hiring_manager"]
    co.user_roles = [
        {"id": 301, "type": "job_admin", "name": "Job Admin: Standard"},
        {"id": 302, "type": "job_admin", "name": "Job Admin: Private"},
        {"id": 303, "type": "job_admin", "name": "Hiring Manager"},
        {"id": 304, "type": "interviewer", "name": "Interviewer"},
    ]
    # sources / tags / reasons ------------------------------------------------------------------
    type_ids: dict[str, int] = {}
    for i, (name, tname) in enumerate(SOURCES):
        tid = type_ids.setdefault(tname, 700 + len(type_ids))
        co.sources.append({"id": 801 + i, "name": name, "type": {"id": tid, "name": tname}})
    co.candidate_tags = [{"id": 901 + i, "name": t} for i, t in enumerate(TAGS)]
    rtypes = {"We rejected them": 1, "They rejected us": 2, "None specified": 3}
    co.rejection_reasons = [
        {"id": 31 + i, "name": n, "type": {"id": rtypes[t], "name": t}}
        for i, (n, t) in enumerate(REJECTION_REASONS)
    ]

    # custom fields -----------------------------------------------------------------------------
    def cf(fid, name, field_type, value_type, key, options=(), private=False):
        return {
            "id": fid,
            "name": name,
            "active": True,
            "field_type": field_type,
            "priority": fid % 100,
            "value_type": value_type,
            "private": private,
            "required": False,
            "require_approval": False,
            "trigger_new_version": False,
            "name_key": key,
            "description": None,
            "expose_in_job_board_api": False,
            "api_only": False,
            "offices": [],
            "departments": [],
            "template_token_string": None,
            "custom_field_options": [
                {"id": fid * 10 + j, "name": o, "priority": j, "external_id": None}
                for j, o in enumerate(options)
            ],
        }

    co.custom_fields = [
        cf(501, "Video Interview", "candidate", "long_text", "video_interview"),
        cf(502, "Desired Salary", "candidate", "short_text", "desired_salary"),
        cf(503, "Work Remotely", "candidate", "yes_no", "work_remotely"),
        cf(
            504,
            "Notice Period",
            "candidate",
            "single_select",
            "notice_period",
            ["Immediately", "2 weeks", "1 month", "3 months"],
        ),  # fmt: skip
        cf(
            505,
            "Languages",
            "candidate",
            "multi_select",
            "languages",
            ["English", "German", "French", "Spanish"],
        ),  # fmt: skip
        cf(506, "LinkedIn Profile", "candidate", "url", "linkedin_profile"),
        cf(
            511,
            "Employment Type",
            "job",
            "single_select",
            "employment_type",
            ["Full-time", "Part-time", "Contract"],
        ),  # fmt: skip
        cf(512, "Cost Center", "job", "short_text", "cost_center"),
        cf(
            521,
            "Interview Format",
            "application",
            "single_select",
            "interview_format",
            ["In person", "Video"],
        ),  # fmt: skip
        cf(531, "Start Date", "offer", "date", "start_date"),
    ]
    # jobs and stages ---------------------------------------------------------------------------
    stage_id = 4000000
    templates = [JOBS[i % len(JOBS)] for i in range(n_jobs)]
    for i, (name, dept, offices, tpl) in enumerate(templates):
        jname = name if i < len(JOBS) else f"{name} ({i // len(JOBS) + 1})"
        created = now - rng.uniform(70, 200) * DAY
        job_id = 4100001 + i
        status = "open"
        if i in (16, 19):
            status = "closed"
        elif i == 18:
            status = "draft"
        dept_rec = by_name[dept]
        job = {
            "id": job_id,
            "name": jname,
            "requisition_id": f"REQ-{2024 + i // 12}-{i + 101:03d}",
            "notes": f"<p>Hiring for the {dept} team.</p>",
            "confidential": i == 7,
            "status": status,
            "created_at": created,
            "opened_at": None if status == "draft" else created + DAY,
            "closed_at": now - 5 * DAY if status == "closed" else None,
            "updated_at": min(now, created + rng.uniform(2, 60) * DAY),
            "department_id": dept_rec["id"],
            "office_ids": [office_by_name[o]["id"] for o in offices],
            "hiring_team": {
                "hiring_managers": [rng.choice(managers)["id"]],
                "recruiters": [rng.choice(recruiters)["id"]],
                "coordinators": [rng.choice(coordinators)["id"]],
                "sourcers": [rng.choice(recruiters)["id"]],
            },
            "custom_fields": {
                "employment_type": "Full-time" if i % 7 else "Contract",
                "cost_center": f"CC-{300 + i % 9}",
            },
            "stage_ids": [],
            "opening_ids": [f"{job_id}-1"],
        }
        for prio, sname in enumerate(STAGE_TEMPLATES[tpl]):
            stage_id += 1
            interviews = []
            for k, iname in enumerate(INTERVIEW_NAMES.get(sname, [])):
                interviews.append(
                    {
                        "id": stage_id * 10 + k,
                        "name": iname,
                        "schedulable": True,
                        "estimated_minutes": 30 if "Call" in iname else 60,
                        "default_interviewer_users": [],
                        "interview_kit": {
                            "id": stage_id * 10 + k,
                            "content": f"<p>Guide for {iname}</p>",
                            "questions": [],
                        },
                    }
                )
            co.stages[stage_id] = {
                "id": stage_id,
                "name": sname,
                "job_id": job_id,
                "priority": prio,
                "created_at": created,
                "updated_at": created,
                "active": True,
                "interviews": interviews,
            }
            job["stage_ids"].append(stage_id)
        co.jobs.append(job)
    co.reindex()

    # candidates ----------------------------------------------------------------------------------
    cand_id0 = 50000000
    tag_names = [t["name"] for t in co.candidate_tags]
    for i in range(n_candidates):
        cid = cand_id0 + 1 + i
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        country = rng.choices(("US", "UK", "DE"), (6, 3, 2))[0]
        local = _email_local(first, last, i + 1)
        emails = [{"value": f"{local}@{rng.choice(EMAIL_DOMAINS)}", "type": "personal"}]
        if rng.random() < 0.2:
            emails.append({"value": f"{local}@work.example.com", "type": "work"})
        phones = [
            {"value": _phone(rng, country), "type": "mobile" if rng.random() < 0.85 else "home"}
        ]
        if rng.random() < 0.1:
            phones.append({"value": _phone(rng, country), "type": "work"})
        cfs: dict = {}
        if rng.random() < 0.3:
            cfs["desired_salary"] = str(rng.randrange(60, 200) * 1000)
        if rng.random() < 0.4:
            cfs["work_remotely"] = rng.random() < 0.5
        if rng.random() < 0.2:
            cfs["notice_period"] = rng.choice(["2 weeks", "1 month", "3 months"])
        co.candidates[cid] = {
            "id": cid,
            "first_name": first,
            "last_name": last,
            "company": rng.choice(COMPANIES),
            "title": rng.choice(TITLES),
            "created_at": 0.0,
            "updated_at": 0.0,
            "last_activity": 0.0,
            "is_private": False,
            "can_email": True,
            "phone_numbers": phones,
            "email_addresses": emails,
            "addresses": [],
            "website_addresses": [],
            "social_media_addresses": [],
            "tags": rng.sample(tag_names, k=rng.choice((0, 0, 1, 1, 2))),
            "recruiter_id": rng.choice(recruiters)["id"],
            "coordinator_id": rng.choice(coordinators)["id"],
            "application_ids": [],
            "custom_fields": cfs,
            "attachments": [],
            "notes": [],
            "emails": [],
            "activities": [],
            "country": country,
        }
    # applications --------------------------------------------------------------------------------
    app_id0 = 60000000
    open_jobs = [j for j in co.jobs if j["status"] != "draft"]
    job_weights = [3.0 if j["name"] == "Sales Rep" else rng.uniform(0.5, 2.0) for j in open_jobs]
    job_choices = rng.choices(open_jobs, job_weights, k=n_applications)
    cand_ids = list(co.candidates)
    source_ids = [s["id"] for s in co.sources]
    reason_ids = [r["id"] for r in co.rejection_reasons]
    span = 60 * DAY
    random_ = rng.random
    for i in range(n_applications):
        aid = app_id0 + 1 + i
        cid = cand_ids[i] if i < len(cand_ids) else cand_ids[int(random_() * len(cand_ids))]
        job = job_choices[i]
        stage_ids = job["stage_ids"]
        applied = now - span * random_() ** 0.8 - 600
        # how far the application got through the pipeline
        depth = 0
        while depth < len(stage_ids) - 1 and random_() < 0.45:
            depth += 1
        history = []
        t = applied
        for d in range(1, depth + 1):
            # Each move happens between the previous one and `now`: nothing is in the future.
            t += (now - t) * random_() * 0.5
            history.append([t, stage_ids[d - 1], stage_ids[d], job["hiring_team"]["recruiters"][0]])
        r = random_()
        status = "active"
        rejected_at = hired_at = reason = None
        last = t
        if depth == len(stage_ids) - 1 and r < 0.5:
            status = "hired"
            hired_at = last = t + (now - t) * random_() * 0.5
        elif r < 0.16:
            status = "rejected"
            rejected_at = last = t + (now - t) * random_() * 0.5
            reason = reason_ids[int(random_() * len(reason_ids))]
        co.applications[aid] = {
            "id": aid,
            "candidate_id": cid,
            "job_id": job["id"],
            "stage_id": stage_ids[depth],
            "status": status,
            "applied_at": applied,
            "rejected_at": rejected_at,
            "hired_at": hired_at,
            "last_activity_at": last,
            "source_id": source_ids[int(random_() * len(source_ids))],
            "credited_to_id": job["hiring_team"]["recruiters"][0],
            "rejection_reason_id": reason,
            "history": history,
            "attachments": [],
            "custom_fields": {},
        }
        co.candidates[cid]["application_ids"].append(aid)
    for c in co.candidates.values():
        apps = [co.applications[a] for a in c["application_ids"]]
        if apps:
            c["created_at"] = min(a["applied_at"] for a in apps) - 60
            c["last_activity"] = max(a["last_activity_at"] for a in apps)
        else:
            c["created_at"] = now - span * random_()
            c["last_activity"] = c["created_at"]
        c["updated_at"] = c["last_activity"]
    co.counters["candidate"] = cand_id0 + n_candidates
    co.counters["application"] = app_id0 + n_applications
    return co
