"""The sidebar, defined once."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str
    section: str  # the first path segment that marks the item active


SIDEBAR = [
    NavItem("Dashboard", "dashboard", "home", ""),
    NavItem("Candidates", "candidates:list", "users", "candidates"),
    NavItem("Journeys", "journeys:list", "route", "journeys"),
    NavItem("Library", "library", "book", "library"),
    NavItem("Inbox", "messaging:inbox", "inbox", "inbox"),
    NavItem("Interviews", "interviews:list", "video", "interviews"),
    NavItem("Schedule", "scheduling:schedule", "calendar", "schedule"),
    NavItem("Analytics", "analytics:index", "chart", "analytics"),
    NavItem("Settings", "settings:organization", "settings", "settings"),
]
