from django.conf import settings
from django.http import HttpRequest

from booking.navigation import menu_for
from booking.roles import STAFF_ROLES, has_role


def clinic(request: HttpRequest) -> dict:
    return {
        "clinic_name": settings.CLINIC_NAME,
        "is_clinic_staff": has_role(request.user, *STAFF_ROLES),
        "staff_menu": menu_for(request.user, request.path),
    }
