"""The reception desk's URLs: /desk/…"""

from django.urls import URLPattern, path

from booking.desk import (
    appointments,
    book,
    calendar_views,
    feed_link,
    given_details,
    records,
    schedules,
    waitlist,
)

app_name = "desk"

urlpatterns: list[URLPattern] = [
    # The home, patient records, the audit log and the calendar feed link.
    path("", records.home, name="home"),
    path("patients/", records.patient_search, name="patients"),
    path("patients/<int:patient_id>/", records.patient_record, name="patient"),
    path("patients/<int:patient_id>/merge/", records.patient_merge, name="patient_merge"),
    path(
        "patients/<int:patient_id>/given-details/",
        given_details.resolve,
        name="patient_given_details",
    ),
    path("audit/", records.audit_log, name="audit"),
    path("feed/", feed_link.feed_page, name="feed"),
    # The calendar, the appointment page and its actions, booking and walk-ins.
    path("day/", calendar_views.day_view, name="day"),
    path("day/print/", calendar_views.day_print, name="day_print"),
    path("week/", calendar_views.week_view, name="week"),
    path("appointments/<uuid:public_id>/", appointments.appointment_page, name="appointment"),
    path("appointments/<uuid:public_id>/arrived/", appointments.arrive, name="appointment_arrived"),
    path(
        "appointments/<uuid:public_id>/no-show/", appointments.no_show, name="appointment_no_show"
    ),
    path(
        "appointments/<uuid:public_id>/undo-no-show/",
        appointments.undo_no_show_view,
        name="appointment_undo_no_show",
    ),
    path(
        "appointments/<uuid:public_id>/undo-arrival/",
        appointments.undo_arrival_view,
        name="appointment_undo_arrival",
    ),
    path("appointments/<uuid:public_id>/cancel/", appointments.cancel, name="appointment_cancel"),
    path(
        "appointments/<uuid:public_id>/reschedule/",
        appointments.reschedule,
        name="appointment_reschedule",
    ),
    path("book/", book.book, name="book"),
    path("walk-in/", book.walk_in, name="walk_in"),
    # Schedules and the waitlist.
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
