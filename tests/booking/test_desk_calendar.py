"""The reception calendar: day and week views, day sheet, appointment page and actions,
booking for a patient (with the working-hours override) and walk-ins."""

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking.desk.grid import CellKind, build_grid, clinicians_for, free_starts
from booking.models import Appointment, AppointmentStatus, AuditEvent, Patient, SafetyAnswers
from booking.patients import search_patients
from tests.factories import (
    AppointmentFactory,
    BlockFactory,
    ClinicianFactory,
    PatientFactory,
    ScheduleExceptionFactory,
    WorkingHoursFactory,
)

NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2026, 12, 2)  # a Wednesday
BEFORE = datetime(2026, 12, 1, 17, tzinfo=UTC)  # the day before, 12:00 in New York
DURING = datetime(2026, 12, 2, 15, 5, tzinfo=UTC)  # 10:05 in New York on DAY


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


def visit(clinic, *, hour: int, minute: int = 0, clinician: int = 0, **kwargs) -> Appointment:
    return AppointmentFactory(
        site=clinic["site"],
        clinician=clinic["clinicians"][clinician],
        location=clinic["location"],
        start=at(hour, minute),
        **kwargs,
    )


def day_url(clinic, **params) -> str:
    query = {"location": clinic["location"].pk, "date": DAY.isoformat(), **params}
    return reverse("desk:day") + "?" + "&".join(f"{k}={v}" for k, v in query.items())


@pytest.fixture
def desk(client, receptionist):
    client.force_login(receptionist)
    return client


# --- access ------------------------------------------------------------------------------


def _urls(clinic) -> list[tuple[str, str]]:
    appointment = visit(clinic, hour=11)
    public_id = appointment.public_id
    clinician = clinic["clinicians"][0]
    start = at(9).isoformat().replace("+", "%2B")
    return [
        ("get", day_url(clinic)),
        ("get", reverse("desk:week") + f"?clinician={clinician.pk}&date={DAY}"),
        ("get", reverse("desk:day_print") + f"?location={clinic['location'].pk}&date={DAY}"),
        ("get", reverse("desk:appointment", args=[public_id])),
        ("post", reverse("desk:appointment_arrived", args=[public_id])),
        ("post", reverse("desk:appointment_no_show", args=[public_id])),
        ("post", reverse("desk:appointment_cancel", args=[public_id])),
        ("post", reverse("desk:appointment_reschedule", args=[public_id])),
        (
            "get",
            reverse("desk:book")
            + f"?location={clinic['location'].pk}&clinician={clinician.pk}&start={start}",
        ),
        ("get", reverse("desk:walk_in")),
    ]


@time_machine.travel(BEFORE, tick=False)
def test_anonymous_users_are_sent_to_log_in(client, clinic):
    for method, url in _urls(clinic):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@time_machine.travel(BEFORE, tick=False)
def test_patients_have_no_desk_access(client, clinic, patient_user):
    client.force_login(patient_user)
    for method, url in _urls(clinic):
        assert getattr(client, method)(url).status_code == 403, url


# A clinician's calendar is their own: tests/access/test_clinician_calendar.py.
@pytest.mark.parametrize("role", ["receptionist", "clinic_admin"])
@time_machine.travel(BEFORE, tick=False)
def test_staff_can_use_every_page(client, clinic, role, request):
    client.force_login(request.getfixturevalue(role))
    for method, url in _urls(clinic):
        response = getattr(client, method)(url)
        assert response.status_code == (200 if method == "get" else 302), url


@time_machine.travel(BEFORE, tick=False)
def test_unknown_ids_are_not_found(desk, clinic):
    unknown = "00000000-0000-0000-0000-000000000000"
    assert desk.get(reverse("desk:appointment", args=[unknown])).status_code == 404
    assert desk.post(reverse("desk:appointment_arrived", args=[unknown])).status_code == 404
    assert desk.get(reverse("desk:week") + "?clinician=999999").status_code == 404
    start = at(9).isoformat().replace("+", "%2B")
    book = reverse("desk:book")
    location = clinic["location"].pk
    assert desk.get(f"{book}?location={location}&clinician=999999&start={start}").status_code == 404
    assert desk.get(f"{book}?location=999999&clinician=1&start={start}").status_code == 404
    clinician = clinic["clinicians"][0].pk
    url = f"{book}?location={location}&clinician={clinician}&start={start}"
    assert desk.post(url, {"patient": "999999", "site": clinic["site"].pk}).status_code == 404


# --- the grid ----------------------------------------------------------------------------


@time_machine.travel(BEFORE, tick=False)
def test_day_view_shows_clinicians_as_columns_and_appointments_as_blocks(desk, clinic):
    visit(clinic, hour=9, patient=PatientFactory(first_name="Maria", last_name="Lopez"))
    visit(
        clinic,
        hour=10,
        clinician=1,
        patient=PatientFactory(first_name="Cal", last_name="Cancelled"),
        status=AppointmentStatus.CANCELLED,
    )
    response = desk.get(day_url(clinic))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Dr. Adams" in page
    assert "Dr. Brown" in page
    assert "Maria Lopez" in page
    assert "Lumbar" in page
    assert "Booked" in page
    assert "Cal Cancelled" not in page  # hidden unless asked
    assert "Cal Cancelled" in desk.get(day_url(clinic, show_cancelled=1)).content.decode()
    # The 45-minute consult spans three quarter-hour rows, in the location's zone.
    grid = response.context["grid"]
    cell = grid.columns[0].cells[[r.label for r in grid.rows].index(time(9))]
    assert cell.kind == CellKind.APPOINTMENT
    assert cell.rowspan == 3
    assert AuditEvent.objects.filter(action="view", object_type="Location").exists()


@time_machine.travel(BEFORE, tick=False)
def test_blocks_time_off_and_outside_hours_are_shaded(desk, clinic):
    adams, brown = clinic["clinicians"]
    BlockFactory(clinician=adams, start=at(12), end=at(13), reason="Lunch meeting")
    ScheduleExceptionFactory(clinician=brown, location=clinic["location"], date=DAY)  # day off
    response = desk.get(day_url(clinic))
    grid = response.context["grid"]
    labels = [row.label for row in grid.rows]
    adams_cells, brown_cells = (column.cells for column in grid.columns)
    assert adams_cells[labels.index(time(12))].kind == CellKind.BLOCKED
    assert adams_cells[labels.index(time(12, 45))].kind == CellKind.BLOCKED
    assert adams_cells[labels.index(time(13))].kind == CellKind.FREE
    assert adams_cells[labels.index(time(17))].kind == CellKind.CLOSED  # after hours
    assert {cell.kind for cell in brown_cells} == {CellKind.CLOSED}
    page = response.content.decode()
    assert "Meeting: Lunch meeting" in page
    assert "cal-blocked" in page
    assert "not working" in page


@time_machine.travel(BEFORE, tick=False)
def test_free_quarter_hours_link_to_booking_that_time(desk, clinic):
    visit(clinic, hour=9)
    response = desk.get(day_url(clinic, site=clinic["site"].pk))
    grid = response.context["grid"]
    adams = grid.columns[0]
    urls = [cell.book_url for cell in adams.cells if cell.book_url]
    assert urls
    assert all(url.startswith(reverse("desk:book")) for url in urls)
    starts = [datetime.fromisoformat(parse_qs(urlsplit(u).query)["start"][0]) for u in urls]
    assert at(8) in starts
    assert at(9) not in starts
    assert at(9, 30) not in starts
    first = parse_qs(urlsplit(urls[0]).query)
    assert first["clinician"] == [str(clinic["clinicians"][0].pk)]
    assert first["site"] == [str(clinic["site"].pk)]
    assert urls[0].replace("&", "&amp;") in response.content.decode()


def test_now_line_only_on_today(desk, clinic):
    with time_machine.travel(DURING, tick=False):
        today = desk.get(day_url(clinic))
        tomorrow = desk.get(day_url(clinic, date=(DAY + timedelta(days=1)).isoformat()))
    assert "now 10:05" in today.content.decode()
    assert [row.label for row in today.context["grid"].rows if row.is_now] == [time(10)]
    # Quarter hours already over are not offered.
    assert at(9) not in [start for _, start in free_starts(today.context["grid"])]
    assert "cal-now" not in tomorrow.content.decode()
    assert not any(row.is_now for row in tomorrow.context["grid"].rows)


@time_machine.travel(BEFORE, tick=False)
def test_filters_by_clinician_and_site(desk, clinic):
    brown = clinic["clinicians"][1]
    response = desk.get(day_url(clinic, clinician=brown.pk))
    assert [c.clinician for c in response.context["grid"].columns] == [brown]
    other_site_clinician = ClinicianFactory(
        display_name="Dr. Other", locations=[clinic["location"]]
    )
    assert other_site_clinician not in clinicians_for(clinic["location"], site=clinic["site"])
    assert other_site_clinician in clinicians_for(clinic["location"])


@time_machine.travel(BEFORE, tick=False)
def test_date_navigation_and_default_location(desk, clinic):
    response = desk.get(reverse("desk:day"))  # no parameters: today at the first location
    assert response.status_code == 200
    assert response.context["day"] == date(2026, 12, 1)
    assert response.context["location"] == clinic["location"]
    page = desk.get(day_url(clinic)).content.decode()
    assert "date=2026-12-01" in page
    assert "date=2026-12-03" in page
    assert 'type="date"' in page


@time_machine.travel(datetime(2026, 3, 1, tzinfo=UTC), tick=False)
def test_rows_on_the_day_clocks_spring_forward(clinic):
    """2026-03-08, New York: 02:00 becomes 03:00. Rows are local wall-clock times."""
    sunday = date(2026, 3, 8)
    adams = clinic["clinicians"][0]
    WorkingHoursFactory(
        clinician=adams,
        location=clinic["location"],
        weekday=6,
        start_time=time(1),
        end_time=time(5),
    )
    AppointmentFactory(
        site=clinic["site"],
        clinician=adams,
        location=clinic["location"],
        start=datetime(2026, 3, 8, 7, tzinfo=UTC),  # 03:00 EDT
    )
    grid = build_grid(location=clinic["location"], clinicians=[adams], days=[sunday], now=BEFORE)
    labels = [row.label for row in grid.rows]
    cells = grid.columns[0].cells
    assert labels[0] == time(1)
    assert [cells[labels.index(time(2, m))].kind for m in (0, 15, 30, 45)] == [CellKind.MISSING] * 4
    assert cells[labels.index(time(1, 45))].kind == CellKind.FREE
    three = cells[labels.index(time(3))]
    assert three.kind == CellKind.APPOINTMENT
    assert three.rowspan == 3
    # Working 01:00-05:00 local is three hours of real time that day: 12 bookable rows.
    assert (
        sum(cell.kind in (CellKind.FREE, CellKind.COVERED, CellKind.APPOINTMENT) for cell in cells)
        == 12
    )


@pytest.mark.parametrize("count", [20, 150])
@time_machine.travel(BEFORE, tick=False)
def test_day_view_queries_are_bounded(desk, clinic, count, django_assert_max_num_queries):
    location = clinic["location"]
    clinicians = list(clinic["clinicians"]) + [
        ClinicianFactory(sites=[clinic["site"]], locations=[location]) for _ in range(8)
    ]
    for clinician in clinicians[2:]:
        WorkingHoursFactory(clinician=clinician, location=location, weekday=DAY.weekday())
    patients = [PatientFactory() for _ in range(10)]
    for index in range(count):
        clinician = clinicians[index % len(clinicians)]
        AppointmentFactory(
            site=clinic["site"],
            clinician=clinician,
            location=location,
            patient=patients[index % 10],
            start=at(7) + timedelta(minutes=45 * (index // len(clinicians))),
        )
    with django_assert_max_num_queries(15):
        response = desk.get(day_url(clinic))
    assert response.context["grid"].appointment_count == count


@time_machine.travel(BEFORE, tick=False)
def test_query_count_does_not_grow_with_appointments(desk, clinic):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            desk.get(day_url(clinic))
        return len(queries)

    visit(clinic, hour=8)
    few = count()
    for hour in range(9, 16):
        visit(clinic, hour=hour, clinician=1)
        visit(clinic, hour=hour)
    assert count() == few


@time_machine.travel(BEFORE, tick=False)
def test_week_view_shows_one_clinicians_week(desk, clinic):
    adams = clinic["clinicians"][0]
    AppointmentFactory(
        site=clinic["site"],
        clinician=adams,
        location=clinic["location"],
        start=at(9, day=date(2026, 12, 4)),
        patient=PatientFactory(first_name="Fri", last_name="Day"),
    )
    response = desk.get(reverse("desk:week") + f"?clinician={adams.pk}&date={DAY}")
    grid = response.context["grid"]
    assert [column.day for column in grid.columns] == [
        date(2026, 11, 30) + timedelta(days=n) for n in range(7)
    ]
    assert "Fri Day" in response.content.decode()
    assert not grid.columns[5].working
    assert grid.columns[0].working
    assert desk.get(reverse("desk:week")).status_code == 302  # picks the first clinician


@time_machine.travel(BEFORE, tick=False)
def test_printable_day_sheet_has_one_clinician_per_page(desk, clinic):
    appointment = visit(clinic, hour=9, patient=PatientFactory(first_name="Pia", last_name="Print"))
    SafetyAnswers.objects.create(
        appointment=appointment,
        takes_blood_thinners=True,
        allergy_local_anaesthetic=False,
        allergy_steroid=False,
        allergy_latex=False,
        allergy_iodine=False,
        pregnancy="no",
        diabetes=False,
        infection_or_fever=False,
        recent_steroid_injection=False,
        has_driver=True,
    )
    visit(clinic, hour=10, clinician=1, status=AppointmentStatus.CANCELLED)
    response = desk.get(reverse("desk:day_print") + f"?location={clinic['location'].pk}&date={DAY}")
    page = response.content.decode()
    assert page.count('class="day-sheet"') == 2
    assert "Pia Print" in page
    assert "9:00 AM\u20139:45 AM" in page
    assert "Blood thinners" in page
    assert response.context["sheets"][1][1] == []  # cancelled visits are not on the sheet


# --- the appointment page and its actions ------------------------------------------------


@time_machine.travel(BEFORE, tick=False)
def test_appointment_page_shows_details_flags_and_free_times(desk, clinic):
    appointment = visit(clinic, hour=9)
    SafetyAnswers.objects.create(
        appointment=appointment,
        takes_blood_thinners=False,
        allergy_local_anaesthetic=False,
        allergy_steroid=False,
        allergy_latex=True,
        allergy_iodine=False,
        pregnancy="no",
        diabetes=False,
        infection_or_fever=False,
        recent_steroid_injection=False,
        has_driver=True,
    )
    response = desk.get(reverse("desk:appointment", args=[appointment.public_id]))
    page = response.content.decode()
    assert "Allergy: latex" in page
    assert "Wednesday, December 2, 2026, 9:00 AM" in page
    assert response.context["times"]  # free times that day to move to
    event = AuditEvent.objects.get(action="view", object_type="Appointment")
    assert event.patient == appointment.patient


@time_machine.travel(DURING, tick=False)  # arriving is for the visit's day
def test_mark_arrived_then_link_to_completion(client, clinic, clinician_user):
    clinic["clinicians"][0].user = clinician_user  # the visit's clinician
    clinic["clinicians"][0].save(update_fields=["user"])
    client.force_login(clinician_user)
    appointment = visit(clinic, hour=9)
    url = reverse("desk:appointment_arrived", args=[appointment.public_id])
    response = client.post(url, follow=True)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ARRIVED
    page = response.content.decode()
    assert "is marked arrived" in page
    # followup's section of the appointment page: the visit's clinician may complete it.
    assert reverse("followup:complete", args=[appointment.public_id]) in page
    assert "Complete the visit" in page
    assert AuditEvent.objects.filter(action="change", patient=appointment.patient).exists()
    # Twice: the status does not allow it, nothing changes and the page says so.
    response = client.post(url, follow=True)
    assert "Nothing was changed" in response.content.decode()


def test_mark_no_show_only_after_the_start(desk, clinic):
    appointment = visit(clinic, hour=9)
    url = reverse("desk:appointment_no_show", args=[appointment.public_id])
    with time_machine.travel(BEFORE, tick=False):
        page = desk.post(url, follow=True).content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert "Nothing was changed" in page
    with time_machine.travel(DURING, tick=False):
        page = desk.post(url, follow=True).content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW
    assert "no-show" in page


@time_machine.travel(BEFORE, tick=False)
def test_cancel_needs_a_reason(desk, clinic):
    appointment = visit(clinic, hour=9)
    url = reverse("desk:appointment_cancel", args=[appointment.public_id])
    page = desk.post(url, {"reason": ""}, follow=True).content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert "give a reason" in page
    page = desk.post(url, {"reason": "Patient has flu"}, follow=True).content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_reason == "Patient has flu"
    assert "is cancelled" in page


@time_machine.travel(BEFORE, tick=False)
def test_reschedule_to_a_free_time_and_refuse_a_taken_one(desk, clinic):
    appointment = visit(clinic, hour=9)
    url = reverse("desk:appointment_reschedule", args=[appointment.public_id])
    page = desk.post(url, {"start": at(14).isoformat()}, follow=True).content.decode()
    appointment.refresh_from_db()
    assert appointment.start == at(14)
    assert "is moved to Wednesday, December 2, 2026, 2:00 PM" in page
    # Both clinicians busy at 11:00: nothing changes.
    visit(clinic, hour=11)
    visit(clinic, hour=11, clinician=1)
    page = desk.post(url, {"start": at(11).isoformat()}, follow=True).content.decode()
    appointment.refresh_from_db()
    assert appointment.start == at(14)
    assert "just taken" in page


# --- booking and walk-ins ----------------------------------------------------------------


def book_url(clinic, start: datetime, clinician: int = 0, **extra) -> str:
    params = {
        "location": clinic["location"].pk,
        "clinician": clinic["clinicians"][clinician].pk,
        "start": start.isoformat().replace("+", "%2B"),
        "site": clinic["site"].pk,
        **extra,
    }
    return reverse("desk:book") + "?" + "&".join(f"{k}={v}" for k, v in params.items())


NEW_PATIENT = {
    "patient": "new",
    "new-first_name": "Nora",
    "new-last_name": "New",
    "new-date_of_birth": "1980-04-02",
    "new-email": "nora@example.com",
    "new-consent_email": "on",
}


@time_machine.travel(BEFORE, tick=False)
def test_search_patients_by_name_birth_date_or_phone(db):
    maria = PatientFactory(
        first_name="Maria", last_name="Lopez", date_of_birth=date(1961, 2, 3), phone="+12125550123"
    )
    PatientFactory(first_name="John", last_name="Smith")
    assert list(search_patients(Patient.objects.all(), "maria lop")) == [maria]
    assert list(search_patients(Patient.objects.all(), "1961-02-03")) == [maria]
    assert list(search_patients(Patient.objects.all(), "212 555 0123")) == [maria]
    assert list(search_patients(Patient.objects.all(), "")) == []


@time_machine.travel(BEFORE, tick=False)
def test_book_for_an_existing_patient(desk, clinic):
    maria = PatientFactory(first_name="Maria", last_name="Lopez")
    page = desk.get(book_url(clinic, at(9), q="Lopez")).content.decode()
    assert "Maria Lopez" in page
    response = desk.post(
        book_url(clinic, at(9)), {"patient": maria.pk, "site": clinic["site"].pk}, follow=True
    )
    appointment = Appointment.objects.get()
    assert appointment.patient == maria
    assert appointment.start == at(9)
    assert appointment.source == "reception"
    assert appointment.clinician == clinic["clinicians"][0]
    assert "Booked Lumbar for Maria Lopez" in response.content.decode()
    assert AuditEvent.objects.filter(action="create", patient=maria).exists()


@time_machine.travel(BEFORE, tick=False)
def test_book_for_a_new_patient(desk, clinic):
    desk.post(book_url(clinic, at(10)), {**NEW_PATIENT, "site": clinic["site"].pk})
    appointment = Appointment.objects.get()
    assert appointment.patient.first_name == "Nora"
    assert appointment.patient.consent_email


@time_machine.travel(BEFORE, tick=False)
def test_book_a_time_just_taken_says_so_and_saves_nothing(desk, clinic):
    visit(clinic, hour=10)  # someone else took Dr. Adams at 10:00
    response = desk.post(book_url(clinic, at(10)), {**NEW_PATIENT, "site": clinic["site"].pk})
    assert response.status_code == 200
    assert "just taken" in response.content.decode()
    assert Appointment.objects.count() == 1
    assert not Patient.objects.filter(first_name="Nora").exists()
    assert response.context["alternatives"]


@time_machine.travel(BEFORE, tick=False)
def test_outside_hours_is_refused_unless_overridden(desk, clinic):
    evening = at(18)
    data = {**NEW_PATIENT, "site": clinic["site"].pk}
    response = desk.post(book_url(clinic, evening), data)
    assert "Nothing was booked" in response.content.decode()
    assert response.context["offer_override"]
    assert not Appointment.objects.exists()
    response = desk.post(book_url(clinic, evening), {**data, "override": "on"}, follow=True)
    appointment = Appointment.objects.get()
    assert appointment.start == evening
    assert appointment.source == "reception"
    assert AuditEvent.objects.filter(action="override", patient=appointment.patient).exists()
    assert "Booked (override)" in response.content.decode()
    # The override never double-books.
    response = desk.post(book_url(clinic, at(18, 15)), {**data, "override": "on"})
    assert "just taken" in response.content.decode()
    assert Appointment.objects.count() == 1


def _page_key(page: str) -> str:
    """The booking form's key, as the page gave it to the browser."""
    return re.search(r'name="booking_key" value="([0-9a-f-]{36})"', page)[1]


@time_machine.travel(BEFORE, tick=False)
def test_a_booking_form_sent_twice_books_once_and_both_show_that_visit(desk, clinic):
    maria = PatientFactory(first_name="Maria", last_name="Lopez")
    key = _page_key(desk.get(book_url(clinic, at(9), q="Lopez")).content.decode())
    data = {"patient": maria.pk, "site": clinic["site"].pk, "booking_key": key}

    first = desk.post(book_url(clinic, at(9)), data)
    again = desk.post(book_url(clinic, at(9)), data)

    appointment = Appointment.objects.get()
    assert appointment.patient == maria
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert str(appointment.public_id) in again["Location"]


@time_machine.travel(BEFORE, tick=False)
def test_a_booking_form_sent_again_for_another_patient_books_nothing(desk, clinic):
    maria = PatientFactory(first_name="Maria", last_name="Lopez")
    key = _page_key(desk.get(book_url(clinic, at(9))).content.decode())
    desk.post(
        book_url(clinic, at(9)),
        {"patient": maria.pk, "site": clinic["site"].pk, "booking_key": key},
    )

    # Back in the browser, another patient chosen on the same page.
    response = desk.post(
        book_url(clinic, at(9)), {**NEW_PATIENT, "site": clinic["site"].pk, "booking_key": key}
    )

    assert response.status_code == 200
    assert "Nothing was booked" in response.content.decode()
    assert Appointment.objects.get().patient == maria
    assert not Patient.objects.filter(first_name="Nora").exists()


def test_a_walk_in_sent_twice_books_the_patient_once(desk, clinic):
    maria = PatientFactory(first_name="Maria", last_name="Walker")
    with time_machine.travel(DURING, tick=False):
        key = _page_key(desk.get(reverse("desk:walk_in")).content.decode())
        data = {
            "patient": maria.pk,
            "site": clinic["site"].pk,
            "location": clinic["location"].pk,
            "booking_key": key,
        }
        first = desk.post(reverse("desk:walk_in"), data)
        again = desk.post(reverse("desk:walk_in"), data)
    # Without the key the second would have taken the next free start as well.
    appointment = Appointment.objects.get(patient=maria)
    assert first["Location"] == again["Location"]
    assert str(appointment.public_id) in again["Location"]


def test_walk_in_books_the_first_free_clinician_at_the_next_start(desk, clinic):
    visit(clinic, hour=10, minute=15)  # Dr. Adams is busy at the next start
    maria = PatientFactory(first_name="Maria", last_name="Walker")
    with time_machine.travel(DURING, tick=False):  # 10:05
        assert desk.get(reverse("desk:walk_in") + "?q=Walker").status_code == 200
        response = desk.post(
            reverse("desk:walk_in"),
            {"patient": maria.pk, "site": clinic["site"].pk, "location": clinic["location"].pk},
            follow=True,
        )
    appointment = Appointment.objects.get(patient=maria)
    assert appointment.start == at(10, 15)
    assert appointment.clinician == clinic["clinicians"][1]
    assert "Walk-in booked" in response.content.decode()


def test_walk_in_when_nobody_is_free(desk, clinic):
    maria = PatientFactory()
    with time_machine.travel(datetime(2026, 12, 2, 23, tzinfo=UTC), tick=False):  # 18:00
        response = desk.post(
            reverse("desk:walk_in"),
            {"patient": maria.pk, "site": clinic["site"].pk, "location": clinic["location"].pk},
        )
    assert "no clinician is free" in response.content.decode()
    assert not Appointment.objects.exists()


@time_machine.travel(BEFORE, tick=False)
def test_reschedule_to_a_time_picked_with_its_clinician(desk, clinic):
    appointment = visit(clinic, hour=9)
    brown = clinic["clinicians"][1]
    page = desk.get(reverse("desk:appointment", args=[appointment.public_id])).content.decode()
    assert f'value="{at(14).isoformat()}|{brown.pk}"' in page
    url = reverse("desk:appointment_reschedule", args=[appointment.public_id])
    desk.post(url, {"slot": f"{at(14).isoformat()}|{brown.pk}"})
    appointment.refresh_from_db()
    assert appointment.start == at(14)
    assert appointment.clinician == brown
    page = desk.post(url, {"slot": "not a time"}, follow=True).content.decode()
    assert "choose one of the times offered" in page


@time_machine.travel(BEFORE, tick=False)
def test_calendar_filters_with_unknown_ids_are_not_found(desk, clinic):
    assert desk.get(reverse("desk:day") + "?location=999999").status_code == 404
    assert desk.get(day_url(clinic, clinician=999999)).status_code == 404
    assert desk.get(reverse("desk:day_print") + "?location=999999").status_code == 404
    response = desk.get(day_url(clinic, date="not-a-date"), follow=True)
    assert response.status_code == 200
    assert response.context["day"] == date(2026, 12, 1)


@time_machine.travel(BEFORE, tick=False)
def test_patient_searches_are_audited(desk, clinic):
    PatientFactory(first_name="Maria", last_name="Lopez")
    desk.get(reverse("desk:walk_in") + "?q=Lopez")
    event = AuditEvent.objects.get(summary__startswith="Searched patients")
    assert event.action == "view"
    assert "1 found" in event.summary


@time_machine.travel(datetime(2026, 10, 20, tzinfo=UTC), tick=False)
def test_rows_on_the_day_clocks_fall_back(clinic):
    """2026-11-01, New York: 01:00-02:00 happens twice. Its rows show once; both
    appointments in it are shown, none is lost."""
    sunday = date(2026, 11, 1)
    adams = clinic["clinicians"][0]
    WorkingHoursFactory(
        clinician=adams,
        location=clinic["location"],
        weekday=6,
        start_time=time(0),
        end_time=time(4),
    )
    first, second = (
        AppointmentFactory(
            site=clinic["site"], clinician=adams, location=clinic["location"], start=start
        )
        for start in (
            datetime(2026, 11, 1, 5, 0, tzinfo=UTC),  # 01:00 EDT
            datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # 01:00 EST, an hour later
        )
    )
    grid = build_grid(location=clinic["location"], clinicians=[adams], days=[sunday], now=BEFORE)
    labels = [row.label for row in grid.rows]
    assert labels.count(time(1)) == 1
    assert grid.appointment_count == 2
    cell = grid.columns[0].cells[labels.index(time(1))]
    assert cell.appointments == [first, second]


# --- undo and confirm where people slip ---------------------------------------------------


def _page(desk, appointment: Appointment) -> str:
    return desk.get(reverse("desk:appointment", args=[appointment.public_id])).content.decode()


def test_no_show_is_offered_only_once_the_visit_has_started(desk, clinic):
    appointment = visit(clinic, hour=10)
    with time_machine.travel(at(9, 59), tick=False):
        page = _page(desk, appointment)
    assert "Mark no-show" not in page
    assert "A no-show can be marked once the visit has started (10:00 AM)." in page
    assert "Mark arrived" in page
    with time_machine.travel(at(10), tick=False):
        page = _page(desk, appointment)
    assert "Mark no-show" in page


@time_machine.travel(DURING, tick=False)
@pytest.mark.parametrize(
    ("to", "status", "said"),
    [
        ("booked", AppointmentStatus.BOOKED, "booked again"),
        ("arrived", AppointmentStatus.ARRIVED, "marked arrived"),
    ],
)
def test_a_no_show_is_undone_the_same_day_from_the_appointment_page(desk, clinic, to, status, said):
    appointment = visit(clinic, hour=9, status=AppointmentStatus.NO_SHOW)
    page = _page(desk, appointment)
    assert "Undo no-show (back to booked)" in page
    assert "Undo no-show: the patient arrived" in page

    url = reverse("desk:appointment_undo_no_show", args=[appointment.public_id])
    page = desk.post(url, {"to": to}, follow=True).content.decode()

    appointment.refresh_from_db()
    assert appointment.status == status
    assert f"The no-show of {appointment.patient} is undone: {said}" in page
    event = AuditEvent.objects.get(action="change", patient=appointment.patient)
    assert "no-show" in event.summary


def test_a_no_show_is_not_undone_on_another_day(desk, clinic):
    appointment = visit(clinic, hour=9, status=AppointmentStatus.NO_SHOW)
    url = reverse("desk:appointment_undo_no_show", args=[appointment.public_id])
    with time_machine.travel(at(0, 5, day=DAY + timedelta(days=1)), tick=False):
        assert "Undo no-show" not in _page(desk, appointment)
        page = desk.post(url, {"to": "booked"}, follow=True).content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW
    assert "Nothing was changed" in page
    assert "only on the day of the visit" in page
    assert not AuditEvent.objects.filter(action="change").exists()


@time_machine.travel(DURING, tick=False)
def test_a_no_show_undone_to_another_status_changes_nothing(desk, clinic):
    appointment = visit(clinic, hour=9, status=AppointmentStatus.NO_SHOW)
    url = reverse("desk:appointment_undo_no_show", args=[appointment.public_id])
    page = desk.post(url, {"to": "completed"}, follow=True).content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW
    assert "Nothing was changed" in page


@time_machine.travel(DURING, tick=False)
def test_an_arrival_is_undone_from_the_appointment_page(desk, clinic):
    appointment = visit(clinic, hour=9, status=AppointmentStatus.ARRIVED)
    assert "Undo arrival (back to booked)" in _page(desk, appointment)

    url = reverse("desk:appointment_undo_arrival", args=[appointment.public_id])
    page = desk.post(url, follow=True).content.decode()

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert f"The arrival of {appointment.patient} is undone: booked again" in page
    assert "Mark arrived" in page
    assert AuditEvent.objects.filter(action="change", patient=appointment.patient).exists()


@time_machine.travel(DURING, tick=False)
def test_a_completed_visit_is_not_undone(desk, clinic):
    appointment = visit(clinic, hour=9, status=AppointmentStatus.COMPLETED)
    assert "Undo" not in _page(desk, appointment)
    url = reverse("desk:appointment_undo_arrival", args=[appointment.public_id])
    page = desk.post(url, follow=True).content.decode()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    assert "Nothing was changed" in page
    assert not AuditEvent.objects.filter(action="change").exists()


@time_machine.travel(DURING, tick=False)  # 10:05
def test_the_day_view_offers_no_time_already_started(desk, clinic):
    grid = desk.get(day_url(clinic)).context["grid"]
    starts = [start for _, start in free_starts(grid)]
    assert at(10) not in starts
    assert at(10, 15) in starts
    page = desk.get(day_url(clinic)).content.decode()
    assert "+ 10:00<" not in page


@time_machine.travel(DURING, tick=False)  # 10:05
def test_the_booking_form_refuses_a_time_already_started(desk, clinic):
    page = desk.get(book_url(clinic, at(10))).content.decode()
    assert "This time has already started, so it cannot be booked." in page
    assert 'name="site"' not in page
    response = desk.post(book_url(clinic, at(10)), {**NEW_PATIENT, "site": clinic["site"].pk})
    assert "Nothing was booked" in response.content.decode()
    assert not Appointment.objects.exists()
    assert not response.context["offer_override"]
