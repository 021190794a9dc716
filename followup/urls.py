from django.urls import include, path

from followup.views import checkin, unsubscribe, webhooks

app_name = "followup"

urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
    path("webhooks/sms/", webhooks.inbound_sms, name="sms-webhook"),
    path("check-in/<str:token>/", checkin.check_in, name="check_in"),
    path("staff/", include("followup.staff_urls")),
]
