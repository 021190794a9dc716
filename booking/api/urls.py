"""booking's part of the REST API, mounted under /api/v1/ (config/urls.py)."""

from django.urls import path

from booking.api import manage, public, staff
from booking.api.auth import ObtainTokenView

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("sites/", public.SiteListView.as_view(), name="api-sites"),
    path("availability/", public.AvailabilityView.as_view(), name="api-availability"),
    path("appointments/", public.AppointmentsView.as_view(), name="api-appointments"),
    path(
        "appointments/<uuid:public_id>/",
        staff.AppointmentDetailView.as_view(),
        name="api-appointment",
    ),
    path("appointments/<uuid:public_id>/cancel/", staff.AppointmentCancelView.as_view()),
    path("appointments/<uuid:public_id>/reschedule/", staff.AppointmentRescheduleView.as_view()),
    path("appointments/<uuid:public_id>/arrive/", staff.AppointmentArriveView.as_view()),
    path("appointments/<uuid:public_id>/no-show/", staff.AppointmentNoShowView.as_view()),
    path("manage/<str:token>/", manage.ManageView.as_view(), name="api-manage"),
    path("manage/<str:token>/cancel/", manage.ManageCancelView.as_view()),
    path("manage/<str:token>/reschedule/", manage.ManageRescheduleView.as_view()),
]
