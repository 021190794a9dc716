from django.urls import path

from booking.views import book, manage, waitlist

app_name = "booking"

urlpatterns = [
    path("book/<slug:site_slug>/", book.choose_time, name="choose_time"),
    path("book/<slug:site_slug>/details/", book.details, name="details"),
    path("book/<slug:site_slug>/review/", book.review, name="review"),
    path("book/<slug:site_slug>/waitlist/", waitlist.join_waitlist, name="waitlist_join"),
    path(
        "book/<slug:site_slug>/waitlist/thanks/", waitlist.waitlist_thanks, name="waitlist_thanks"
    ),
    path("waitlist/offer/<str:token>/", waitlist.offer, name="waitlist_offer"),
    path("booked/<str:token>/", book.booked, name="booked"),
    path("manage/<str:token>/", manage.manage, name="manage"),
    path("manage/<str:token>/cancel/", manage.cancel, name="cancel"),
    path("manage/<str:token>/reschedule/", manage.reschedule, name="reschedule"),
    path(
        "manage/<str:token>/reschedule/confirm/",
        manage.reschedule_confirm,
        name="reschedule_confirm",
    ),
    path("manage/<str:token>/safety/", manage.safety, name="safety"),
    path("manage/<str:token>/appointment.ics", manage.calendar_file, name="calendar"),
]
