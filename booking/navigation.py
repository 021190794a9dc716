"""The staff menu: every page staff start from, each shown only to the roles its view lets
in (booking.roles.may_open), so no one is offered a link that answers 403."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import NoReverseMatch, reverse

from booking.roles import STAFF_ROLES, has_role, may_open

# (label, URL name), in the order the menu shows them. Names, not imports: followup's
# pages are named here without booking importing followup.
MENU: tuple[tuple[str, str], ...] = (
    ("Desk", "desk:home"),
    ("Day", "desk:day"),
    ("Week", "desk:week"),
    ("Walk-in", "desk:walk_in"),
    ("Waitlist", "desk:waitlist"),
    ("Schedules", "desk:schedules"),
    ("Patients", "desk:patients"),
    ("Staff", "followup:dashboard"),
    ("Outcomes", "followup:outcomes"),
    ("Audit log", "desk:audit"),
    ("Administration", "admin:index"),
    ("API", "api-docs"),
)


@dataclass(frozen=True)
class MenuLink:
    label: str
    url: str
    current: bool


def menu_for(user: AbstractBaseUser | AnonymousUser, path: str = "") -> list[MenuLink]:
    """The links `user` may follow; `current` marks the one for `path`."""
    if not has_role(user, *STAFF_ROLES):
        return []
    links = []
    for label, name in MENU:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        if may_open(user, url):
            links.append(MenuLink(label, url, current=path == url))
    return links
