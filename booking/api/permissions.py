from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from booking.roles import STAFF_ROLES, has_role


class IsClinicStaff(BasePermission):
    """Reception, clinicians and clinic admins."""

    message = "This is for clinic staff only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, *STAFF_ROLES)
