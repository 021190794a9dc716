"""The patient's manage pages, reached from the link in every booking email (issue 4).

The link shows the booking, lets the patient cancel or move it outside the site's minimum
notice (each change emails an updated .ics), asks the safety questions, and downloads the
calendar file. A wrong, old or foreign link shows a friendly page that names no one.
"""

import html
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
from django.core import signing
from django.test import Client

from booking.links import MANAGE_SALT, manage_token
from booking.models import Appointment, AppointmentSource, AppointmentStatus, SafetyAnswers
from booking.services import PatientDetails, book_appointment
from tests.outbox import then_send_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
WEDNESDAY_9AM = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
THURSDAY_1_30PM = datetime(2026, 12, 3, 18, 30, tzinfo=UTC)
THURSDAY_1_30PM_NEW_YORK = "2026-12-03T13:30:00-05:00"
ANA = PatientDetails(
    first_name="Ana", last_name="Silva", date_of_birth=date(1971, 4, 12), email="ana@example.org"
)
BEA = PatientDetails(
    first_name="Bea", last_name="Jones", date_of_birth=date(1980, 1, 1), email="bea@example.org"
)
ANSWERS = {
    "safety-takes_blood_thinners": "True",
    "safety-blood_thinner_names": "Warfarin",
    "safety-allergy_local_anaesthetic": "False",
    "safety-allergy_steroid": "False",
    "safety-allergy_latex": "False",
    "safety-allergy_iodine": "True",
    "safety-pregnancy": "no",
    "safety-diabetes": "True",
    "safety-infection_or_fever": "False",
    "safety-recent_steroid_injection": "False",
    "safety-has_driver": "True",
}
INVALID_LINK = "This link is not valid any more"


@pytest.fixture
def adams(clinic):
    return clinic["clinicians"][0]


@pytest.fixture
def appointment(clinic, adams):
    """Ana's lumbar consult with Dr. Adams on Wednesday at 09:00 New York time."""
    return book_appointment(
        site=clinic["site"],
        start=WEDNESDAY_9AM,
        clinician=adams,
        patient=ANA,
        source=AppointmentSource.ONLINE,
    )


@pytest.fixture
def token(appointment):
    return manage_token(appointment)


def text(response) -> str:
    return html.unescape(response.content.decode())


class FormValues(HTMLParser):
    """What a browser would send back from the page's fields, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag != "input":
            return
        name = attributes.get("name") or ""
        if attributes.get("type") in {"radio", "checkbox"}:
            if "checked" in attributes:
                self.values[name] = attributes.get("value") or "on"
        else:
            self.values[name] = attributes.get("value") or ""


def form_values(response) -> dict[str, str]:
    parser = FormValues()
    parser.feed(response.content.decode())
    return parser.values


def time_links(page: str) -> list[dict[str, str]]:
    links = []
    for href, at, who in re.findall(
        r'<a class="time" href="([^"]+)">\s*<span class="time-of-day">([^<]+)</span>\s*'
        r'<span class="who">([^<]+)</span>',
        page,
    ):
        parts = urlsplit(html.unescape(href))
        query = parse_qs(parts.query)
        links.append(
            {
                "path": parts.path,
                "time": at,
                "who": who,
                "start": query["start"][0],
                "clinician": query["clinician"][0],
            }
        )
    return links


def only_event(content: bytes | str) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(content)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def attached_ics(message) -> tuple[icalendar.Calendar, icalendar.Event]:
    [(_, content, _)] = message.attachments
    return only_event(content)


class TestTheManagePage:
    def test_it_shows_the_booking_and_how_to_change_it(self, client, appointment, token, clinic):
        response = client.get(f"/manage/{token}/")

        assert response.status_code == 200
        page = text(response)
        assert "<h1>Your lumbar consult</h1>" in page
        assert "Booked" in page
        assert "Wednesday, December 2, 2026, 9:00 AM to 9:45 AM" in page
        assert "Eastern Time (EST)" in page
        assert "<dd>Dr. Adams</dd>" in page
        assert "Main Street<br>1 Main Street, Hartford, CT" in page
        assert '<a href="tel:+18605550100">(860) 555-0100</a>' in page
        assert clinic["site"].instructions in page
        assert f'href="/manage/{token}/reschedule/"' in page
        assert f'href="/manage/{token}/cancel/"' in page
        assert f'href="/manage/{token}/appointment.ics"' in page
        assert f'href="/manage/{token}/safety/"' in page
        assert "answer a few safety questions" in page

    def test_it_is_only_read_with_get(self, client, token):
        assert client.post(f"/manage/{token}/").status_code == 405


class TestCancelling:
    def test_the_patient_cancels_with_a_reason_and_is_emailed(
        self, client, appointment, token, mailoutbox
    ):
        with then_send_due():
            response = client.post(f"/manage/{token}/cancel/", {"reason": "  Feeling better "})

        assert response.status_code == 302
        assert response["Location"] == f"/manage/{token}/"
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED
        assert appointment.cancellation_reason == "Feeling better"
        [message] = mailoutbox
        assert message.to == ["ana@example.org"]
        assert message.subject.endswith("is cancelled")
        calendar, event = attached_ics(message)
        assert calendar["METHOD"] == "CANCEL"
        assert event["STATUS"] == "CANCELLED"
        assert event["SEQUENCE"] == 1

        page = text(client.get(response["Location"]))
        assert "Your appointment is cancelled. We have emailed you." in page
        assert "status-cancelled" in page
        assert 'href="/book/lumbar/"' in page
        assert "Cancel my appointment" not in page
        assert "Choose a new time" not in page

    def test_the_reason_is_optional(self, client, appointment, token):
        client.post(f"/manage/{token}/cancel/", {"reason": ""})

        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED
        assert appointment.cancellation_reason == ""

    def test_a_reason_too_long_cancels_nothing(self, client, appointment, token):
        client.post(f"/manage/{token}/cancel/", {"reason": "x" * 501})

        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.BOOKED

    def test_a_reason_too_long_is_explained(self, client, appointment, token):
        response = client.post(f"/manage/{token}/cancel/", {"reason": "x" * 501}, follow=True)

        assert "Ensure this value has at most 500 characters" in text(response)

    def test_the_confirmation_link_no_longer_says_booked_once_cancelled(
        self, client, appointment, token
    ):
        client.post(f"/manage/{token}/cancel/")

        response = client.get(f"/booked/{token}/", follow=True)

        page = text(response)
        assert "You're booked" not in page
        assert "is confirmed" not in page
        assert "cancelled" in page.lower()

    def test_cancelling_twice_sends_one_email(self, client, appointment, token, mailoutbox):
        with then_send_due():
            client.post(f"/manage/{token}/cancel/")
            second = client.post(f"/manage/{token}/cancel/", follow=True)

        assert len(mailoutbox) == 1
        assert "cannot be cancelled" in text(second)

    def test_the_cancel_link_asks_first_and_changes_nothing(self, client, appointment, token):
        response = client.get(f"/manage/{token}/cancel/")

        assert response.status_code == 200
        page = text(response)
        assert "<h1>Cancel your appointment?</h1>" in page
        assert "Wednesday, Dec 2, 2026 at 9:00 AM" in page
        assert f'<a class="button" href="/manage/{token}/">Keep my appointment</a>' in page
        assert f'action="/manage/{token}/cancel/"' in page
        assert '<label for="id_reason">Reason (optional):</label>' in page
        assert ">Cancel it</button>" in page
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.BOOKED

    def test_a_reason_too_long_is_shown_on_the_question_again(self, client, appointment, token):
        response = client.post(f"/manage/{token}/cancel/", {"reason": "x" * 501})

        assert response.status_code == 400
        assert "<h1>Cancel your appointment?</h1>" in text(response)

    def test_the_cancellation_email_links_to_booking_again(
        self, client, appointment, token, mailoutbox, settings
    ):
        settings.SITE_URL = "https://clinic.example.org/"
        with then_send_due():
            client.post(f"/manage/{token}/cancel/")

        [message] = mailoutbox
        assert "To book a new time: https://clinic.example.org/\n" in message.body
        [(html_body, _)] = message.alternatives
        assert 'href="https://clinic.example.org/"' in html_body
        assert ">Book a new time</a>" in html_body
        assert "lumbar" not in message.body.lower()


class TestRescheduling:
    def test_the_picker_lists_free_times_that_lead_to_the_confirm_page(
        self, client, appointment, token
    ):
        response = client.get(f"/manage/{token}/reschedule/")
        assert time_links(text(response))[0]["start"] == "2026-12-01T09:00:00-05:00"

        response = client.get(f"/manage/{token}/reschedule/", {"day": "2026-12-02"})

        assert response.status_code == 200
        page = text(response)
        assert "Your appointment is now on Wednesday, December 2, 9:00 AM." in page
        assert "Times are shown in the clinic's local time (America/New_York)." in page
        links = time_links(page)
        assert links
        assert {link["path"] for link in links} == {f"/manage/{token}/reschedule/confirm/"}
        assert links[0]["start"] == "2026-12-02T08:00:00-05:00"
        own_time = [
            link
            for link in links
            if link["start"] == "2026-12-02T09:00:00-05:00" and link["who"] == "Dr. Adams"
        ]
        assert own_time == []

    def test_the_confirm_page_then_the_post_moves_it_and_emails_the_new_time(
        self,
        client,
        appointment,
        token,
        adams,
        mailoutbox,
    ):
        confirm = client.get(
            f"/manage/{token}/reschedule/confirm/",
            {"start": THURSDAY_1_30PM_NEW_YORK, "clinician": adams.pk},
        )
        assert confirm.status_code == 200
        page = text(confirm)
        assert "<dt>From</dt><dd>Wednesday, December 2, 2026, 9:00 AM</dd>" in page
        assert "Thursday, December 3, 2026, 1:30 PM</strong> (EST) with Dr. Adams" in page
        fields = form_values(confirm)

        with then_send_due():
            moved = client.post(f"/manage/{token}/reschedule/confirm/", fields)

        assert moved.status_code == 302
        assert moved["Location"] == f"/manage/{token}/"
        appointment.refresh_from_db()
        assert appointment.start == THURSDAY_1_30PM
        assert appointment.end == THURSDAY_1_30PM + timedelta(minutes=45)
        assert appointment.status == AppointmentStatus.BOOKED
        assert appointment.calendar_sequence == 1
        [message] = mailoutbox
        assert message.subject.endswith("has moved")
        assert "Thursday, December 3, 2026, 1:30 PM to 2:15 PM" in message.body
        calendar, event = attached_ics(message)
        assert calendar["METHOD"] == "REQUEST"
        assert event["SEQUENCE"] == 1
        assert event.decoded("DTSTART") == THURSDAY_1_30PM

        page = text(client.get(moved["Location"]))  # the same link still works
        assert "Your appointment has moved. We have emailed you the new time." in page
        assert "Thursday, December 3, 2026, 1:30 PM to 2:15 PM" in page

    def test_a_time_taken_meanwhile_goes_back_to_the_picker_and_changes_nothing(
        self,
        client,
        clinic,
        appointment,
        token,
        adams,
        mailoutbox,
    ):
        for _ in clinic["clinicians"]:  # both clinicians are taken on Thursday at 13:30
            book_appointment(
                site=clinic["site"],
                start=THURSDAY_1_30PM,
                patient=BEA,
                source=AppointmentSource.RECEPTION,
            )

        with then_send_due():
            response = client.post(
                f"/manage/{token}/reschedule/confirm/",
                {"start": THURSDAY_1_30PM_NEW_YORK, "clinician": adams.pk},
            )

        assert response["Location"] == f"/manage/{token}/reschedule/"
        assert "Sorry, that time was just taken" in text(client.get(response["Location"]))
        appointment.refresh_from_db()
        assert (appointment.start, appointment.calendar_sequence) == (WEDNESDAY_9AM, 0)
        assert mailoutbox == []

    def test_a_confirm_page_without_a_time_goes_back_to_the_picker(self, client, token):
        response = client.get(f"/manage/{token}/reschedule/confirm/", {"start": "soon"})

        assert response["Location"] == f"/manage/{token}/reschedule/"


class TestInsideTheMinimumNotice:
    @pytest.fixture(autouse=True)
    def a_day_before(self, clock, appointment):  # clock first: the visit is booked at NOW
        clock.move_to(appointment.start - timedelta(hours=23))

    def test_the_page_says_to_call_the_clinic_and_offers_no_changes(
        self, client, appointment, token
    ):
        page = text(client.get(f"/manage/{token}/"))

        assert "Your visit is less than 24 hours away" in page
        assert 'Please call the clinic on <a href="tel:+18605550100">(860) 555-0100</a>.' in page
        assert "/cancel/" not in page
        assert "/reschedule/" not in page
        assert "<form" not in page
        assert "Cancel my appointment" not in page

    def test_the_cancel_question_sends_back_to_the_booking(self, client, appointment, token):
        response = client.get(f"/manage/{token}/cancel/")

        assert response.status_code == 302
        assert response["Location"] == f"/manage/{token}/"

    def test_a_cancel_posted_anyway_is_refused(self, client, appointment, token, mailoutbox):
        with then_send_due():
            response = client.post(f"/manage/{token}/cancel/", {"reason": "Late"}, follow=True)

        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.BOOKED
        assert appointment.cancellation_reason == ""
        assert "Please call the clinic on (860) 555-0100." in text(response)
        assert mailoutbox == []

    def test_a_reschedule_is_refused(self, client, appointment, token, adams, mailoutbox):
        assert client.get(f"/manage/{token}/reschedule/")["Location"] == f"/manage/{token}/"

        with then_send_due():
            response = client.post(
                f"/manage/{token}/reschedule/confirm/",
                {"start": THURSDAY_1_30PM_NEW_YORK, "clinician": adams.pk},
            )

        assert response["Location"] == f"/manage/{token}/"
        appointment.refresh_from_db()
        assert appointment.start == WEDNESDAY_9AM
        assert mailoutbox == []


def _tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


LINK_KINDS = ["expired", "tampered", "unknown", "garbage", "other purpose"]
PAGES = [
    ("get", "/manage/{}/"),
    ("post", "/manage/{}/cancel/"),
    ("get", "/manage/{}/reschedule/"),
    ("post", "/manage/{}/reschedule/confirm/"),
    ("get", "/manage/{}/safety/"),
    ("get", "/manage/{}/appointment.ics"),
    ("get", "/booked/{}/"),
]


class TestInvalidLinks:
    @pytest.fixture
    def bad_token(self, request, appointment, token, clock):
        kind = request.param
        if kind == "expired":
            clock.move_to(appointment.end + timedelta(minutes=1))
            return token
        if kind == "tampered":
            return _tampered(token)
        if kind == "unknown":
            return signing.dumps(str(uuid.uuid4()), salt=MANAGE_SALT)
        if kind == "other purpose":
            return signing.dumps(str(appointment.public_id), salt="followup.checkin")
        return "not-a-link"

    @pytest.mark.parametrize("bad_token", LINK_KINDS, indirect=True)
    @pytest.mark.parametrize(("method", "path"), PAGES)
    def test_it_shows_the_friendly_page_naming_no_one(
        self, client, appointment, bad_token, method, path
    ):
        response = getattr(client, method)(
            path.format(bad_token), {"start": THURSDAY_1_30PM_NEW_YORK}
        )

        assert response.status_code == 404
        page = text(response)
        assert INVALID_LINK in page
        for private in ("Ana", "Silva", "Dr. Adams", "Main Street", "December", "Lumbar"):
            assert private not in page
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.BOOKED
        assert appointment.start == WEDNESDAY_9AM

    def test_the_link_works_until_the_visit_ends(self, client, appointment, token, clock):
        clock.move_to(appointment.end - timedelta(minutes=1))

        assert client.get(f"/manage/{token}/").status_code == 200


class TestSafetyQuestions:
    def test_the_answers_are_saved(self, client, appointment, token):
        form = client.get(f"/manage/{token}/safety/")
        assert form.status_code == 200
        assert "<legend>Do you have an infection or a fever now?</legend>" in text(form)

        response = client.post(f"/manage/{token}/safety/", ANSWERS)

        assert response.status_code == 302
        assert response["Location"] == f"/manage/{token}/"
        answers = SafetyAnswers.objects.get(appointment=appointment)
        assert answers.takes_blood_thinners is True
        assert answers.blood_thinner_names == "Warfarin"
        assert answers.allergy_iodine is True
        assert answers.diabetes is True
        assert answers.infection_or_fever is False
        assert answers.pregnancy == "no"
        page = text(client.get(response["Location"]))
        assert "Thank you. Your answers are with the clinic." in page
        assert "Update your answers to the safety questions" in page
        assert "infection or a fever" not in page

    def test_saved_answers_come_back_and_can_be_changed(self, client, appointment, token):
        client.post(f"/manage/{token}/safety/", ANSWERS)

        values = form_values(client.get(f"/manage/{token}/safety/"))
        assert {name: values.get(name, "") for name in ANSWERS} == ANSWERS

        client.post(f"/manage/{token}/safety/", {**ANSWERS, "safety-has_driver": "False"})

        assert SafetyAnswers.objects.get(appointment=appointment).has_driver is False
        assert SafetyAnswers.objects.count() == 1

    def test_an_unanswered_question_is_shown_next_to_it_and_nothing_is_saved(
        self, client, appointment, token
    ):
        response = client.post(
            f"/manage/{token}/safety/", {**ANSWERS, "safety-infection_or_fever": ""}
        )

        assert response.status_code == 200
        page = text(response)
        assert re.search(
            r'<ul class="errorlist" id="id_safety-infection_or_fever_error">'
            r"<li>This field is required.</li></ul>\s*<div id=\"id_safety-infection_or_fever\">",
            page,
        )
        assert (
            '<a href="#id_safety-infection_or_fever">Do you have an infection or a fever now?: '
            "This field is required.</a>"
        ) in page
        assert form_values(response)["safety-blood_thinner_names"] == "Warfarin"
        assert not SafetyAnswers.objects.exists()

    def test_an_infection_or_fever_tells_the_patient_to_call_the_clinic(
        self, client, appointment, token
    ):
        client.post(f"/manage/{token}/safety/", {**ANSWERS, "safety-infection_or_fever": "True"})

        manage = text(client.get(f"/manage/{token}/"))
        assert "You told us you have an infection or a fever." in manage
        assert "Please call the clinic before your visit." in manage
        assert "(860) 555-0100" in manage
        booked = text(client.get(f"/booked/{token}/"))
        assert "You told us you have an infection or a fever." in booked
        assert (
            'Please call the clinic on <a href="tel:+18605550100">(860) 555-0100</a> '
            "before your visit"
        ) in booked

    def test_the_answers_never_reach_an_email(self, client, appointment, token, mailoutbox):
        client.post(f"/manage/{token}/safety/", {**ANSWERS, "safety-infection_or_fever": "True"})

        with then_send_due():
            client.post(f"/manage/{token}/cancel/")

        [message] = mailoutbox
        [(html_body, _)] = message.alternatives
        [(_, ics, _)] = message.attachments
        for content in (message.body, html_body, str(ics)):
            assert "Warfarin" not in content
            assert "fever" not in content


class TestCalendarDownload:
    def test_it_returns_the_event_as_text_calendar(self, client, appointment, token):
        response = client.get(f"/manage/{token}/appointment.ics")

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/calendar")
        assert "attachment" in response["Content-Disposition"]
        assert 'filename="appointment.ics"' in response["Content-Disposition"]
        calendar, event = only_event(response.content)
        assert calendar["METHOD"] == "REQUEST"
        assert event["UID"] == f"{appointment.public_id}@testserver"
        assert event.decoded("DTSTART") == appointment.start
        assert event.decoded("DTEND") == appointment.end
        assert f"/manage/{token}/" in str(event["DESCRIPTION"])

    def test_after_a_cancellation_it_is_a_cancel(self, client, appointment, token):
        client.post(f"/manage/{token}/cancel/")

        calendar, event = only_event(client.get(f"/manage/{token}/appointment.ics").content)

        assert calendar["METHOD"] == "CANCEL"
        assert event["STATUS"] == "CANCELLED"
        assert event["SEQUENCE"] == 1


class TestCsrfFailure:
    def test_a_cancel_posted_without_its_token_gets_the_friendly_page(self, appointment, token):
        browser = Client(enforce_csrf_checks=True)

        response = browser.post(f"/manage/{token}/cancel/", {"reason": "Feeling better"})

        assert response.status_code == 403
        page = text(response)
        assert "<h1>Please try again</h1>" in page
        assert "Nothing was saved." in page
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.BOOKED

    def test_the_cancel_form_carries_its_token(self, appointment, token):
        browser = Client(enforce_csrf_checks=True)
        page = browser.get(f"/manage/{token}/cancel/")

        browser.post(f"/manage/{token}/cancel/", form_values(page))

        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED


def test_all_appointments_are_untouched_by_reading_pages(client, appointment, token):
    before = Appointment.objects.values().get()
    for path in ("", "reschedule/", "safety/", "appointment.ics"):
        client.get(f"/manage/{token}/{path}")
    assert Appointment.objects.values().get() == before
