"""followup's part of the REST API, mounted beside booking's under /api/v1/ (config/urls.py)."""

from django.urls import path

from followup.api.checkins import CheckInView
from followup.api.complete import AppointmentCompleteView
from followup.api.staff import AppointmentMessagesView

urlpatterns = [
    path("appointments/<uuid:public_id>/messages/", AppointmentMessagesView.as_view()),
    path("appointments/<uuid:public_id>/complete/", AppointmentCompleteView.as_view()),
    path("check-ins/<str:token>/", CheckInView.as_view(), name="api-check-in"),
]
