"""Staff roles as Django groups.

The groups and their permissions are written after every `migrate`, so a new model's
permissions reach the roles with the migration that adds it, and a permission removed
here is removed from the group too.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import (
    AbstractBaseUser,
    AnonymousUser,
    Group,
    Permission,
    PermissionsMixin,
)
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

RECEPTION = "reception"
CLINICIAN = "clinician"
CLINIC_ADMIN = "clinic admin"
STAFF_ROLES = (RECEPTION, CLINICIAN, CLINIC_ADMIN)
# Who runs the whole clinic's desk: every patient, every calendar, schedules, the waitlist.
DESK_ROLES = (RECEPTION, CLINIC_ADMIN)

ALL = ("view", "add", "change", "delete")
VIEW = ("view",)

# app_label.model -> actions, per role. Clinic admins get every permission of the
# clinic's own apps (see _permissions_for).
# Patient data (patients, appointments, answers, messages) is in no role's admin
# permissions: reception and clinicians use the desk and staff pages, which apply who may
# see which patient (booking.patients); the admin's patient pages are clinic admins' only.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    RECEPTION: {
        "booking.location": VIEW,
        "booking.site": VIEW,
        "booking.clinician": VIEW,
        "booking.workinghours": ALL,
        "booking.scheduleexception": ALL,
        "booking.block": ALL,
    },
    CLINICIAN: {
        "booking.location": VIEW,
        "booking.site": VIEW,
        "booking.clinician": VIEW,
        "booking.workinghours": VIEW,
        "booking.scheduleexception": VIEW,
        "booking.block": VIEW,
        "followup.followupstep": VIEW,
    },
    CLINIC_ADMIN: {"auth.user": ALL, "auth.group": VIEW},
}
CLINIC_ADMIN_APPS = ("booking", "followup")


def _permissions_for(role: str) -> list[Permission]:
    wanted = [
        (model.split(".")[0], f"{action}_{model.split('.')[1]}")
        for model, actions in ROLE_PERMISSIONS[role].items()
        for action in actions
    ]
    return [
        permission
        for permission in Permission.objects.select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
        or (role == CLINIC_ADMIN and permission.content_type.app_label in CLINIC_ADMIN_APPS)
    ]


def sync_roles() -> None:
    """Create the staff groups and set their permissions exactly (idempotent)."""
    for role in STAFF_ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(_permissions_for(role))


def sync_roles_after_migrate(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    # Booking's post_migrate runs before those of the apps listed after it, whose
    # permissions Django creates in their own post_migrate: create them all first, or a
    # fresh database leaves those apps (followup) out of the roles until the next migrate.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_roles()


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    """Whether an active staff user belongs to one of `roles` (superusers to all)."""
    if not isinstance(user, PermissionsMixin) or not user.is_active:
        return False
    if not getattr(user, "is_staff", False):
        return False
    return user.is_superuser or not _group_names(user).isdisjoint(roles)


# Kept on the user object: request.user lives for one request, so a page that checks
# several roles reads the user's groups once.
_GROUP_NAMES = "_staff_group_names"


def _group_names(user: PermissionsMixin) -> frozenset[str]:
    names: frozenset[str] | None = user.__dict__.get(_GROUP_NAMES)
    if names is None:
        names = frozenset(user.groups.values_list("name", flat=True))
        user.__dict__[_GROUP_NAMES] = names
    return names


View = Callable[..., HttpResponse]


# The attribute `staff_only` leaves on a view (and `functools.wraps` carries through the
# decorators around it): the roles that may open it. Links read it, so a page shows a link
# only to those who may follow it.
STAFF_ROLES_ATTRIBUTE = "staff_roles"


def staff_only(*roles: str) -> Callable[[View], View]:
    """A staff page's guard: log in first; then 403 unless the user has one of `roles`."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        setattr(wrapper, STAFF_ROLES_ATTRIBUTE, roles)
        return login_required(wrapper)

    return decorate


def may_open(user: AbstractBaseUser | AnonymousUser, url: str) -> bool:
    """Whether `user` has a role that the staff page at `url` (a path) lets in: the same
    rule as the page's own guard. Pages that are no staff page's (or unknown) say yes."""
    try:
        view = resolve(url.split("?", 1)[0]).func
    except Resolver404:
        return True
    roles: tuple[str, ...] | None = getattr(view, STAFF_ROLES_ATTRIBUTE, None)
    return roles is None or has_role(user, *roles)


# Where each role works, first match wins: the desk's roles run the calendars from the desk;
# clinicians follow their patients from the staff home.
ROLE_HOMES: tuple[tuple[tuple[str, ...], str], ...] = (
    (DESK_ROLES, "desk:home"),
    ((CLINICIAN,), "followup:dashboard"),
)


def home_for(user: AbstractBaseUser | AnonymousUser) -> str:
    """The URL a user starts at after logging in: the page of the work their role does,
    or the clinic's home page for anyone else."""
    for roles, name in ROLE_HOMES:
        if has_role(user, *roles):
            try:
                return reverse(name)
            except NoReverseMatch:
                continue
    return reverse("home")
