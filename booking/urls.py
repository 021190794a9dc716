from django.urls import path

from booking.views import manage

app_name = "booking"

urlpatterns = [
    path("manage/<str:token>/", manage.manage, name="manage"),
]
