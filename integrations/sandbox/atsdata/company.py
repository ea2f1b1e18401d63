"""The company record both ATS fakes serve, with its lookups."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Company:
    seed: int
    now: float
    departments: list[dict] = field(default_factory=list)
    offices: list[dict] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    user_roles: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    candidate_tags: list[dict] = field(default_factory=list)
    rejection_reasons: list[dict] = field(default_factory=list)
    custom_fields: list[dict] = field(default_factory=list)
    jobs: list[dict] = field(default_factory=list)
    stages: dict[int, dict] = field(default_factory=dict)
    candidates: dict[int, dict] = field(default_factory=dict)
    applications: dict[int, dict] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    # lookups -----------------------------------------------------------------------------------
    def job(self, job_id: int) -> dict | None:
        return self._jobs_by_id.get(job_id)

    def user(self, user_id: int) -> dict | None:
        return self._users_by_id.get(user_id)

    def department(self, dept_id: int) -> dict | None:
        return self._depts_by_id.get(dept_id)

    def office(self, office_id: int) -> dict | None:
        return self._offices_by_id.get(office_id)

    def source(self, source_id: int | None) -> dict | None:
        return self._sources_by_id.get(source_id) if source_id is not None else None

    def rejection_reason(self, reason_id: int | None) -> dict | None:
        if reason_id is None:
            return None
        return self._reasons_by_id.get(reason_id)

    def reindex(self) -> None:
        self._jobs_by_id = {j["id"]: j for j in self.jobs}
        self._users_by_id = {u["id"]: u for u in self.users}
        self._depts_by_id = {d["id"]: d for d in self.departments}
        self._offices_by_id = {o["id"]: o for o in self.offices}
        self._sources_by_id = {s["id"]: s for s in self.sources}
        self._reasons_by_id = {r["id"]: r for r in self.rejection_reasons}
        self.custom_fields_by_key = {f["name_key"]: f for f in self.custom_fields}
        self.custom_fields_by_id = {f["id"]: f for f in self.custom_fields}

    def job_stages(self, job_id: int) -> list[dict]:
        job = self.job(job_id)
        return [self.stages[s] for s in job["stage_ids"]] if job else []

    def stage_by_name(self, job_id: int, name: str) -> dict | None:
        for st in self.job_stages(job_id):
            if st["name"].lower() == name.lower():
                return st
        return None
