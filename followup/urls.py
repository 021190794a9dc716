from django.urls import path

from followup.views import unsubscribe, webhooks

app_name = "followup"

urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
    path("webhooks/sms/", webhooks.inbound_sms, name="sms-webhook"),
]
