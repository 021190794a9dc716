from django.urls import path

from followup.views import staff

urlpatterns = [
    path("", staff.dashboard, name="dashboard"),
    path("alerts/<int:alert_id>/acknowledge/", staff.acknowledge, name="acknowledge_alert"),
    path("appointments/<uuid:public_id>/complete/", staff.complete, name="complete"),
    path("check-ins/<int:check_in_id>/answer/", staff.answer, name="answer_check_in"),
]
