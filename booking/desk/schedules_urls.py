"""Schedules and the waitlist at the desk: /desk/schedules/…, /desk/waitlist/…"""

from django.urls import URLPattern, path

from booking.views import schedules, waitlist

urlpatterns: list[URLPattern] = [
    path("schedules/", schedules.clinician_list, name="schedules"),
    path("schedules/<int:clinician_id>/", schedules.schedule, name="schedule"),
    path("schedules/<int:clinician_id>/hours/", schedules.hours_add, name="schedule_hours_add"),
    path(
        "schedules/<int:clinician_id>/hours/<int:hours_id>/remove/",
        schedules.hours_remove,
        name="schedule_hours_remove",
    ),
    path(
        "schedules/<int:clinician_id>/exceptions/",
        schedules.exception_add,
        name="schedule_exception_add",
    ),
    path(
        "schedules/<int:clinician_id>/exceptions/<int:exception_id>/remove/",
        schedules.exception_remove,
        name="schedule_exception_remove",
    ),
    path("schedules/<int:clinician_id>/blocks/", schedules.block_add, name="schedule_block_add"),
    path(
        "schedules/<int:clinician_id>/blocks/<int:block_id>/remove/",
        schedules.block_remove,
        name="schedule_block_remove",
    ),
    path("waitlist/", waitlist.desk_waitlist, name="waitlist"),
    path(
        "waitlist/<int:entry_id>/remove/",
        waitlist.desk_waitlist_remove,
        name="waitlist_remove",
    ),
]
