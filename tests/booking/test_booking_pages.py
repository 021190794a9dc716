"""The patient's booking pages, step by step, with Django's test client (issue 4).

Site cards, times (in the clinic's zone, by week, by clinician), details, review and
confirmation; the time taken between review and confirm; a confirm posted twice; a name
with accents and an apostrophe; and the friendly page for a CSRF failure.
"""

import html
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
from django.test import Client

from booking.links import appointment_for_manage_token
from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Block,
    Patient,
    SafetyAnswers,
    Site,
)
from booking.services import PatientDetails, book_appointment
from tests.factories import BlockFactory, ClinicianFactory, LocationFactory, WorkingHoursFactory
from tests.outbox import then_send_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
WEDNESDAY_9AM_NEW_YORK = "2026-12-02T09:00:00-05:00"

TIMES = "/book/lumbar/"
DETAILS = "/book/lumbar/details/"
REVIEW = "/book/lumbar/review/"

SAFE_ANSWERS = {
    "safety-takes_blood_thinners": "False",
    "safety-blood_thinner_names": "",
    "safety-allergy_local_anaesthetic": "False",
    "safety-allergy_steroid": "False",
    "safety-allergy_latex": "True",
    "safety-allergy_iodine": "False",
    "safety-pregnancy": "not_applicable",
    "safety-diabetes": "False",
    "safety-infection_or_fever": "False",
    "safety-recent_steroid_injection": "False",
    "safety-has_driver": "True",
}
ANA = {
    "patient-first_name": "Ana",
    "patient-last_name": "Silva",
    "patient-date_of_birth": "1971-04-12",
    "patient-email": "ana@example.org",
    "patient-phone": "+1 860 555 0123",
    "patient-baseline_pain": "6",
    "patient-reminders_email": "on",
    "patient-reminders_sms": "on",
    **SAFE_ANSWERS,
}
ZOE = {
    **ANA,
    "patient-first_name": "Zoë",
    "patient-last_name": "O'Brien-Núñez",
    "patient-email": "zoe@example.org",
    "patient-phone": "",
    "patient-reminders_sms": "",
}


@pytest.fixture
def adams(clinic):
    return clinic["clinicians"][0]


@pytest.fixture
def brown(clinic):
    return clinic["clinicians"][1]


# --- reading pages ------------------------------------------------------------------------


def text(response) -> str:
    """The page as a person reads it: entities such as &#x27; turned back into characters."""
    return html.unescape(response.content.decode())


class FormValues(HTMLParser):
    """What a browser would send back from the page's fields, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name") or ""
        if tag == "input" and attributes.get("type") in {"radio", "checkbox"}:
            if "checked" in attributes:
                self.values[name] = attributes.get("value") or "on"
        elif tag == "input":
            self.values[name] = attributes.get("value") or ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attributes:
            self.values[self._select] = attributes.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_values(response) -> dict[str, str]:
    parser = FormValues()
    parser.feed(response.content.decode())
    return parser.values


def error_summary(page: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', page, re.DOTALL)
    assert match, "no error summary at the top of the page"
    return match.group(0)


def error_next_to(page: str, field_id: str) -> str:
    """The error shown just before the field (or its radio group), which points at it."""
    match = re.search(
        rf'<ul class="errorlist" id="{field_id}_error"><li>(.*?)</li></ul>\s*'
        rf'<(?:input|select|div)[^>]*\bid="{field_id}"',
        page,
        re.DOTALL,
    )
    assert match, f"no error next to {field_id}"
    return match.group(1)


def time_links(page: str) -> list[dict[str, str]]:
    """Each time offered for the chosen day: the day's heading, its time, the clinician,
    its query."""
    links = []
    for day, body in re.findall(
        r'<section class="day"[^>]*>\s*<h2[^>]*>([^<]+)</h2>(.*?)</section>', page, re.DOTALL
    ):
        for href, at, who in re.findall(
            r'<a class="time" href="([^"]+)">\s*<span class="time-of-day">([^<]+)</span>\s*'
            r'<span class="who">([^<]+)</span>',
            body,
        ):
            query = parse_qs(urlsplit(html.unescape(href)).query)
            links.append(
                {
                    "day": day,
                    "time": at,
                    "who": who,
                    "path": urlsplit(html.unescape(href)).path,
                    "start": query["start"][0],
                    "clinician": query["clinician"][0],
                    "href": html.unescape(href),
                }
            )
    return links


def review_key(response) -> str:
    return form_values(response)["key"]


def ics(content: bytes | str) -> icalendar.Event:
    [event] = icalendar.Calendar.from_ical(content).walk("VEVENT")
    return event


# --- walking the flow ---------------------------------------------------------------------


def choose_time(client, clinician, start: str = WEDNESDAY_9AM_NEW_YORK, site: str = "lumbar"):
    """Open the day of `start` on the times page and follow the link of that time."""
    week = client.get(f"/book/{site}/", {"day": start[:10], "clinician": clinician.pk})
    [link] = [
        link
        for link in time_links(text(week))
        if link["start"] == start and link["clinician"] == str(clinician.pk)
    ]
    return client.get(link["href"])


def to_review(client, clinician, details: dict[str, str] = ANA) -> str:
    """Choose the time, give the details and open the review page: its booking key."""
    choose_time(client, clinician)
    response = client.post(DETAILS, details)
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == REVIEW
    review = client.get(REVIEW)
    assert review.status_code == 200
    return review_key(review)


def nothing_saved() -> bool:
    return not (
        Appointment.objects.exists() or Patient.objects.exists() or SafetyAnswers.objects.exists()
    )


class TestChoosingTheSite:
    def test_the_home_page_has_a_card_per_site_linking_to_its_times(self, client):
        response = client.get("/")

        page = text(response)
        sites = list(Site.objects.active())
        assert len(sites) == 5
        for site in sites:
            assert f'href="/book/{site.slug}/"' in page
            assert f"<h2>{site.name}</h2>" in page
            assert site.description in page
            assert f"About {site.duration_minutes} minutes" in page

    def test_a_site_not_offered_online_has_no_card_and_no_pages(self, client):
        Site.objects.filter(slug="thoracic").update(is_active=False)

        assert 'href="/book/thoracic/"' not in text(client.get("/"))
        assert client.get("/book/thoracic/").status_code == 404
        assert client.get("/book/thoracic/details/").status_code == 404


class TestChoosingATime:
    """The times page's strip, parts of the day and shortcut: test_choose_time_page.py."""

    def test_it_opens_on_the_first_day_with_free_times_in_the_clinics_zone(
        self, client, clinic, adams, brown
    ):
        response = client.get(TIMES)

        assert response.status_code == 200
        page = text(response)
        assert "Times are shown in the clinic's local time (America/New_York)." in page
        links = time_links(page)
        # Monday is inside the 24 hours' notice: the first times are Tuesday at 09:00.
        assert {
            key: links[0][key] for key in ("day", "time", "who", "path", "start", "clinician")
        } == {
            "day": "Tuesday, December 1",
            "time": "9:00 AM",
            "who": "Dr. Adams",
            "path": DETAILS,
            "start": "2026-12-01T09:00:00-05:00",
            "clinician": str(adams.pk),
        }
        # One link per time: Dr. Brown's 9:00 is the same time for the patient.
        assert links[1]["time"] == "9:15 AM"
        # The last 45-minute consult starts at 16:15 so it ends when the day does.
        friday = time_links(text(client.get(TIMES, {"day": "2026-12-04"})))
        assert {link["day"] for link in friday} == {"Friday, December 4"}
        assert friday[-1]["time"] == "4:15 PM"

    def test_a_taken_time_is_not_offered(self, client, clinic, adams):
        book_appointment(
            site=clinic["site"],
            start=WEDNESDAY_9AM,
            clinician=adams,
            patient=PatientDetails("Bea", "Jones", date(1980, 1, 1), email="bea@example.org"),
            source=AppointmentSource.RECEPTION,
        )

        links = time_links(text(client.get(TIMES, {"day": "2026-12-02", "clinician": adams.pk})))

        wednesday_adams = {link["time"] for link in links if link["who"] == "Dr. Adams"}
        assert "8:15 AM" in wednesday_adams
        assert {"8:30 AM", "9:00 AM", "9:30 AM"}.isdisjoint(wednesday_adams)
        assert "9:45 AM" in wednesday_adams

    def test_the_clinician_filter_shows_only_that_clinicians_times(self, client, brown):
        response = client.get(TIMES, {"clinician": brown.pk})

        links = time_links(text(response))
        assert links
        assert {link["who"] for link in links} == {"Dr. Brown"}
        assert {link["clinician"] for link in links} == {str(brown.pk)}
        assert form_values(response)["clinician"] == str(brown.pk)

    def test_a_fortnight_without_times_links_to_the_next_day_with_some(self, client, brown):
        BlockFactory(
            clinician=brown,
            start=datetime(2026, 12, 14, 5, tzinfo=UTC),
            end=datetime(2026, 12, 29, 5, tzinfo=UTC),
            kind=Block.Kind.TIME_OFF,
            reason="Holiday",
        )

        page = text(client.get(TIMES, {"clinician": brown.pk, "day": "2026-12-15"}))

        assert "No free times on this day." in page
        assert f'<a href="?clinician={brown.pk}&day=2026-12-29">Later →</a>' in page
        assert f'<a href="?clinician={brown.pk}&day=2026-12-01">← Earlier</a>' in page

    def test_an_unknown_site_is_404(self, client, clinic):
        assert client.get("/book/knee/").status_code == 404
        assert client.get("/book/knee/details/").status_code == 404
        assert client.get("/book/knee/review/").status_code == 404


@pytest.fixture
def los_angeles():
    """A second building, three hours behind the server's zone, seeing thoracic patients."""
    location = LocationFactory(
        name="Sunset Boulevard",
        address="9 Sunset Boulevard, Los Angeles, CA",
        phone="+13105550100",
        time_zone="America/Los_Angeles",
    )
    thoracic = Site.objects.get(slug="thoracic")
    clinician = ClinicianFactory(display_name="Dr. Chen", sites=[thoracic], locations=[location])
    for weekday in range(5):
        WorkingHoursFactory(
            clinician=clinician,
            location=location,
            weekday=weekday,
            start_time=time(8),
            end_time=time(17),
        )
    return {"location": location, "site": thoracic, "clinician": clinician}


class TestALocationInAnotherZone:
    """Los Angeles is three hours behind the server's zone (New York): its times stay its own."""

    def test_the_times_are_its_wall_clock_labelled_with_its_zone(self, client, los_angeles):
        page = text(client.get("/book/thoracic/"))

        assert "Times are shown in the clinic's local time (America/Los_Angeles)." in page
        first = time_links(page)[0]
        assert first["start"] == "2026-12-01T08:00:00-08:00"
        assert (first["day"], first["time"]) == ("Tuesday, December 1", "8:00 AM")

    def test_details_review_confirmation_and_email_keep_its_zone(
        self, client, los_angeles, mailoutbox
    ):
        chen = los_angeles["clinician"]
        details = choose_time(client, chen, "2026-12-01T08:00:00-08:00", site="thoracic")
        assert "Tuesday, December 1, 2026 at 8:00 AM</strong>\n  (PST)" in text(details)
        assert client.post("/book/thoracic/details/", ANA).status_code == 302
        review = client.get("/book/thoracic/review/")
        assert "<dd>Tuesday, December 1, 2026, 8:00 AM (PST)</dd>" in text(review)

        with then_send_due():
            booked = client.post("/book/thoracic/review/", {"key": review_key(review)})

        assert Appointment.objects.get().start == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
        page = text(client.get(booked["Location"]))
        assert "Tuesday, December 1, 2026, 8:00 AM to 8:30 AM" in page
        assert "Pacific Time (PST)" in page
        [message] = mailoutbox
        assert "Tuesday, December 1, 2026, 8:00 AM to 8:30 AM (Pacific Time)" in (message.body)


class TestDetails:
    def test_the_chosen_time_is_shown_with_its_zone_and_clinician(self, client, adams):
        response = choose_time(client, adams)

        assert response.status_code == 200
        page = text(response)
        assert "Lumbar consult on <strong>Wednesday, December 2, 2026 at 9:00 AM</strong>" in page
        assert "(EST) with Dr. Adams." in page

    @pytest.mark.parametrize("start", [WEDNESDAY_9AM_NEW_YORK, "2026-12-02T14:00:00+00:00"])
    def test_a_link_with_only_the_start_and_clinician_shows_the_clinics_wall_clock(
        self, client, adams, start
    ):
        response = client.get(DETAILS, {"start": start, "clinician": adams.pk})

        assert response.status_code == 200
        page = text(response)
        assert "Wednesday, December 2, 2026 at 9:00 AM</strong>" in page
        assert "(EST) with Dr. Adams." in page

    def test_every_field_has_a_label_and_a_sensible_input_type(self, client, adams):
        page = text(choose_time(client, adams))

        for name in ("first_name", "last_name", "date_of_birth", "email", "phone"):
            assert f'<label for="id_patient-{name}">' in page
        assert re.search(r'<input type="date" name="patient-date_of_birth"', page)
        assert re.search(r'<input type="email" name="patient-email"', page)
        assert re.search(r'<input type="tel" name="patient-phone"', page)
        assert '<label for="id_patient-reminders_sms">Yes, text me reminders' in page
        assert "<legend>Do you have an infection or a fever now?</legend>" in page

    def test_without_a_chosen_time_it_sends_the_patient_to_the_times(self, client, clinic):
        response = client.get(DETAILS)

        assert response.status_code == 302
        assert response["Location"] == TIMES

    def test_errors_are_next_to_their_fields_and_summarised_and_the_input_is_kept(
        self, client, adams
    ):
        choose_time(client, adams)
        posted = {
            **ANA,
            "patient-first_name": "Zoë",
            "patient-last_name": "",
            "patient-date_of_birth": "2030-01-01",
            "patient-email": "not-an-email",
            "patient-phone": "",
            "patient-reminders_sms": "on",
            "safety-takes_blood_thinners": "True",
            "safety-blood_thinner_names": "",
            "safety-infection_or_fever": "",
        }

        response = client.post(DETAILS, posted)

        assert response.status_code == 200
        page = text(response)
        expected = {
            "id_patient-last_name": "This field is required.",
            "id_patient-date_of_birth": "Enter a real date of birth.",
            "id_patient-email": "Enter a valid email address.",
            # The email was not valid, so it cannot carry reminders either.
            "id_patient-reminders_email": "Give an email address to get email reminders.",
            "id_patient-reminders_sms": "Give a mobile number to get text reminders.",
            "id_safety-blood_thinner_names": "Tell us which blood thinners you take.",
            "id_safety-infection_or_fever": "This field is required.",
        }
        summary = error_summary(page)
        assert page.index(summary) < page.index("<form")
        for field_id, message in expected.items():
            assert error_next_to(page, field_id) == message
            assert re.search(rf'<a href="#{field_id}">[^<]*: {re.escape(message)}</a>', summary)
        assert summary.count("<li>") == len(expected)
        # Everything the patient typed comes back, as typed.
        values = form_values(response)
        for name, value in posted.items():
            if value:
                assert values.get(name) == value, name
        assert "safety-infection_or_fever" not in values
        assert nothing_saved()
        assert client.get(REVIEW)["Location"] == DETAILS

    def test_no_email_and_no_phone_is_an_error_on_the_email(self, client, adams):
        choose_time(client, adams)

        response = client.post(
            DETAILS,
            {
                **ANA,
                "patient-email": "",
                "patient-phone": "",
                "patient-reminders_email": "",
                "patient-reminders_sms": "",
            },
        )

        page = text(response)
        message = "Give an email address or a mobile number so we can reach you."
        assert error_next_to(page, "id_patient-email") == message
        assert message in error_summary(page)
        assert nothing_saved()

    def test_a_phone_number_that_is_not_one_is_an_error(self, client, adams):
        choose_time(client, adams)

        response = client.post(DETAILS, {**ANA, "patient-phone": "12"})

        page = text(response)
        assert "valid phone number" in error_next_to(page, "id_patient-phone")
        assert form_values(response)["patient-phone"] == "12"
        assert nothing_saved()

    def test_valid_details_go_to_the_review(self, client, adams):
        choose_time(client, adams)

        response = client.post(DETAILS, ANA)

        assert response.status_code == 302
        assert response["Location"] == REVIEW
        assert nothing_saved()

    def test_going_back_to_the_details_shows_what_was_typed(self, client, adams):
        choose_time(client, adams)
        client.post(DETAILS, ANA)

        values = form_values(client.get(DETAILS))

        assert {name: values.get(name, "") for name in ANA} == ANA


class TestReview:
    def test_it_shows_everything_before_the_patient_confirms(self, client, adams):
        to_review(client, adams)

        page = text(client.get(REVIEW))

        assert "<dd>Lumbar (45 minutes)</dd>" in page
        assert "<dd>Wednesday, December 2, 2026, 9:00 AM (EST)</dd>" in page
        assert "<dd>Dr. Adams</dd>" in page
        assert "<dd>Ana Silva</dd>" in page
        assert "<dd>April 12, 1971</dd>" in page
        assert "<dd>ana@example.org</dd>" in page
        assert "<dd>(860) 555-0123</dd>" in page
        assert "<dd>6 out of 10</dd>" in page
        assert "<dd>Email and text</dd>" in page
        assert uuid.UUID(form_values(client.get(REVIEW))["key"])
        assert nothing_saved()

    def test_without_details_it_sends_the_patient_to_them(self, client, adams):
        choose_time(client, adams)

        response = client.get(REVIEW)

        assert response.status_code == 302
        assert response["Location"] == DETAILS


class TestConfirming:
    def test_confirming_books_and_shows_the_confirmation(self, client, clinic, adams, mailoutbox):
        key = to_review(client, adams)

        with then_send_due():
            response = client.post(REVIEW, {"key": key})

        appointment = Appointment.objects.get()
        assert response.status_code == 302
        assert response["Location"].startswith("/booked/")
        token = response["Location"].removeprefix("/booked/").removesuffix("/")
        assert appointment_for_manage_token(token) == appointment
        assert appointment.status == AppointmentStatus.BOOKED
        assert appointment.source == AppointmentSource.ONLINE
        assert appointment.booking_key == uuid.UUID(key)
        assert appointment.start == WEDNESDAY_9AM
        assert appointment.end == WEDNESDAY_9AM + timedelta(minutes=45)
        assert appointment.clinician == adams
        assert appointment.location == clinic["location"]
        assert appointment.baseline_pain == 6
        patient = appointment.patient
        assert (patient.first_name, patient.last_name) == ("Ana", "Silva")
        assert patient.date_of_birth == date(1971, 4, 12)
        assert patient.email == "ana@example.org"
        assert patient.phone == "+18605550123"
        assert (patient.consent_email, patient.consent_sms) == (True, True)
        answers = SafetyAnswers.objects.get(appointment=appointment)
        assert answers.allergy_latex is True
        assert answers.has_driver is True
        assert answers.infection_or_fever is False
        assert answers.pregnancy == "not_applicable"

        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == ["ana@example.org"]

        booked = client.get(response["Location"])
        assert booked.status_code == 200
        page = text(booked)
        assert "You're booked" in page
        assert "Wednesday, December 2, 2026, 9:00 AM to 9:45 AM" in page
        assert "Eastern Time (EST)" in page
        assert "Main Street<br>1 Main Street, Hartford, CT" in page
        assert "(860) 555-0100" in page
        assert clinic["site"].instructions in page
        assert f'href="/manage/{token}/"' in page
        assert f'href="/manage/{token}/appointment.ics"' in page
        assert "call the clinic" not in page.lower()  # no infection or fever

    def test_a_patient_with_only_a_mobile_is_booked_and_not_emailed(
        self, client, adams, mailoutbox
    ):
        phone_only = {**ANA, "patient-email": "", "patient-reminders_email": ""}
        key = to_review(client, adams, phone_only)

        with then_send_due():
            response = client.post(REVIEW, {"key": key})

        assert Appointment.objects.get().patient.phone == "+18605550123"
        assert mailoutbox == []
        page = text(client.get(response["Location"]))
        assert "You're booked" in page
        assert "We have emailed" not in page

    def test_the_calendar_link_on_the_confirmation_downloads_the_event(self, client, adams):
        key = to_review(client, adams)
        location = client.post(REVIEW, {"key": key})["Location"]
        token = location.removeprefix("/booked/").removesuffix("/")

        response = client.get(f"/manage/{token}/appointment.ics")

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/calendar")
        assert ics(response.content).decoded("DTSTART") == WEDNESDAY_9AM

    def test_a_key_the_session_did_not_issue_books_nothing(self, client, adams, mailoutbox):
        to_review(client, adams)

        with then_send_due():
            response = client.post(REVIEW, {"key": str(uuid.uuid4())})

        assert response["Location"] == REVIEW
        assert not Appointment.objects.exists()
        assert mailoutbox == []


class TestTheTimeIsTakenMeanwhile:
    def test_the_patient_is_sent_back_to_the_nearest_times_with_their_details_kept(
        self, client, clinic, adams, mailoutbox
    ):
        key = to_review(client, adams)
        other = book_appointment(
            site=clinic["site"],
            start=WEDNESDAY_9AM,
            clinician=adams,
            patient=PatientDetails("Bea", "Jones", date(1980, 1, 1), email="bea@example.org"),
            source=AppointmentSource.RECEPTION,
        )

        with then_send_due():
            response = client.post(REVIEW, {"key": key})

        assert response.status_code == 302
        assert response["Location"] == f"{TIMES}?day=2026-12-02"
        assert list(Appointment.objects.all()) == [other]
        assert not Patient.objects.filter(email="ana@example.org").exists()
        assert mailoutbox == []

        times = client.get(response["Location"])
        page = text(times)
        assert "Sorry, that time was just taken. Here are the nearest free times." in page
        assert "Your details are kept" in page
        section = re.search(r'<section class="alternatives".*?</section>', page, re.DOTALL)
        assert section
        alternatives = re.findall(r'<span class="time-of-day">([^<]+)</span>', section.group(0))
        assert alternatives == [
            "Wed, Dec 2, 8:00 AM",
            "Wed, Dec 2, 8:15 AM",
            "Wed, Dec 2, 9:45 AM",
            "Wed, Dec 2, 10:00 AM",
            "Wed, Dec 2, 10:15 AM",
        ]
        assert "Wed, Dec 2, 9:00 AM" not in section.group(0)
        assert f"clinician={adams.pk}" in section.group(0)

        # Nothing typed is lost: the details page comes back filled in.
        values = form_values(client.get(DETAILS))
        assert {name: values.get(name, "") for name in ANA} == ANA

        # Choosing a nearest time keeps the details too, and books it.
        href = html.unescape(re.findall(r'<a class="time" href="([^"]+)"', section.group(0))[2])
        again = client.get(href)
        assert "Wednesday, December 2, 2026 at 9:45 AM" in text(again)
        assert {name: form_values(again).get(name, "") for name in ANA} == ANA
        assert client.post(DETAILS, form_values(again))["Location"] == REVIEW
        new_key = review_key(client.get(REVIEW))
        with then_send_due():
            booked = client.post(REVIEW, {"key": new_key})
        assert booked["Location"].startswith("/booked/")
        mine = Appointment.objects.get(patient__email="ana@example.org")
        assert mine.start == WEDNESDAY_9AM + timedelta(minutes=45)
        assert [message.to for message in mailoutbox] == [["ana@example.org"]]

    def test_the_alternatives_are_shown_once(self, client, clinic, adams):
        key = to_review(client, adams)
        book_appointment(
            site=clinic["site"],
            start=WEDNESDAY_9AM,
            clinician=adams,
            patient=PatientDetails("Bea", "Jones", date(1980, 1, 1), email="bea@example.org"),
            source=AppointmentSource.RECEPTION,
        )
        location = client.post(REVIEW, {"key": key})["Location"]
        assert "The nearest free times" in text(client.get(location))

        assert "The nearest free times" not in text(client.get(location))


class TestDoubleSubmission:
    def test_the_confirm_posted_twice_books_once_and_both_show_the_same_booking(
        self, client, adams, mailoutbox
    ):
        key = to_review(client, adams)

        with then_send_due():
            first = client.post(REVIEW, {"key": key})
            second = client.post(REVIEW, {"key": key})

        assert first.status_code == second.status_code == 302
        assert first["Location"] == second["Location"]
        assert first["Location"].startswith("/booked/")
        assert Appointment.objects.count() == 1
        assert Patient.objects.count() == 1
        assert len(mailoutbox) == 1
        assert client.get(second["Location"]).status_code == 200

    def test_the_same_form_posted_from_another_tab_books_once(self, client, adams, mailoutbox):
        key = to_review(client, adams)
        client.post(REVIEW, {"key": key})
        # The browser's back button shows the old review page, still holding its key.
        with then_send_due():
            again = client.post(REVIEW, {"key": key})
            # Once booked the draft is gone: reloading the review starts over.
            reloaded = client.get(REVIEW)

        assert again["Location"].startswith("/booked/")
        assert reloaded.status_code == 302
        assert "/review/" not in reloaded["Location"]
        assert Appointment.objects.count() == 1
        assert mailoutbox == []


class TestUnicodeNames:
    def test_zoe_obrien_nunez_books_through_every_page_the_email_and_the_ics(
        self, client, clinic, adams, mailoutbox
    ):
        choose_time(client, adams)
        with_error = client.post(DETAILS, {**ZOE, "patient-date_of_birth": ""})
        values = form_values(with_error)
        assert values["patient-first_name"] == "Zoë"
        assert values["patient-last_name"] == "O'Brien-Núñez"
        assert "O&#x27;Brien-Núñez" in with_error.content.decode()  # escaped, not broken

        assert client.post(DETAILS, ZOE)["Location"] == REVIEW
        review = client.get(REVIEW)
        assert "<dd>Zoë O'Brien-Núñez</dd>" in text(review)
        with then_send_due():
            location = client.post(REVIEW, {"key": review_key(review)})["Location"]

        patient = Patient.objects.get()
        assert (patient.first_name, patient.last_name) == ("Zoë", "O'Brien-Núñez")
        booked = text(client.get(location))
        assert "Zoë, your lumbar consult is confirmed." in booked

        [message] = mailoutbox
        assert message.to == ["zoe@example.org"]
        assert message.subject == "Your appointment at Riverside Pain Clinic is booked"
        assert message.body.startswith("Dear Zoë,")
        [(html_body, _)] = message.alternatives
        assert "Dear Zoë," in html_body
        assert message.message().as_bytes()  # serialises for SMTP
        [(_, attached, _)] = message.attachments
        assert ics(attached)["ATTENDEE"].params["CN"] == "Zoë O'Brien-Núñez"

        token = location.removeprefix("/booked/").removesuffix("/")
        downloaded = client.get(f"/manage/{token}/appointment.ics")
        assert ics(downloaded.content)["ATTENDEE"].params["CN"] == "Zoë O'Brien-Núñez"


class TestCsrfFailure:
    def test_a_form_posted_without_its_token_gets_the_friendly_page(self, clinic, adams):
        browser = Client(enforce_csrf_checks=True)
        choose_time(browser, adams)

        response = browser.post(DETAILS, ANA)

        assert response.status_code == 403
        page = text(response)
        assert "<h1>Please try again</h1>" in page
        assert "Nothing was saved." in page
        assert 'href="/"' in page
        assert "Forbidden" not in page
        assert nothing_saved()

    def test_with_its_token_the_same_form_is_accepted(self, clinic, adams):
        browser = Client(enforce_csrf_checks=True)
        page = choose_time(browser, adams)

        response = browser.post(DETAILS, {**ANA, **_csrf(page)})

        assert response.status_code == 302


def _csrf(response) -> dict[str, str]:
    return {"csrfmiddlewaretoken": form_values(response)["csrfmiddlewaretoken"]}
