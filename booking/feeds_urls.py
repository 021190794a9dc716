"""The clinicians' calendar feeds: outside /desk/, read by calendar apps with no login."""

from django.urls import path

from booking.views import feeds

urlpatterns = [
    path("feeds/<str:token>.ics", feeds.calendar_feed, name="calendar_feed"),
]
