from django.urls import path

from followup.views import check_ins, documentation, exports, outcomes, staff, trends

urlpatterns = [
    path("", staff.dashboard, name="dashboard"),
    path("alerts/<int:alert_id>/acknowledge/", staff.acknowledge, name="acknowledge_alert"),
    path("appointments/<uuid:public_id>/complete/", staff.complete, name="complete"),
    path("check-ins/<int:check_in_id>/answer/", staff.answer, name="answer_check_in"),
    path("check-ins/<int:check_in_id>/resend/", check_ins.resend, name="resend_check_in"),
    path(
        "patients/<int:patient_id>/check-ins/",
        check_ins.patient_page,
        name="patient_check_ins",
    ),
    path("patients/<int:patient_id>/trends/", trends.patient_trends, name="patient_trends"),
    path(
        "patients/<int:patient_id>/sites/<slug:site_slug>/documentation/",
        documentation.payer_page,
        name="payer_documentation",
    ),
    path("outcomes/", outcomes.outcomes, name="outcomes"),
    path("outcomes/export.csv", exports.outcomes_csv, name="outcomes_csv"),
]
