"""The reception calendar: day and week views, the day sheet, appointments, booking."""

from django.urls import URLPattern, path

from booking.views import desk_calendar as views

urlpatterns: list[URLPattern] = [
    path("day/", views.day_view, name="day"),
    path("day/print/", views.day_print, name="day_print"),
    path("week/", views.week_view, name="week"),
    path("appointments/<uuid:public_id>/", views.appointment_page, name="appointment"),
    path("appointments/<uuid:public_id>/arrived/", views.arrive, name="appointment_arrived"),
    path("appointments/<uuid:public_id>/no-show/", views.no_show, name="appointment_no_show"),
    path("appointments/<uuid:public_id>/cancel/", views.cancel, name="appointment_cancel"),
    path(
        "appointments/<uuid:public_id>/reschedule/",
        views.reschedule,
        name="appointment_reschedule",
    ),
    path("book/", views.book, name="book"),
    path("walk-in/", views.walk_in, name="walk_in"),
]
