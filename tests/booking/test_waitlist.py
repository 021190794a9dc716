"""The waitlist: joining (desk and online), offers of freed times, accepting, the race."""

import json
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse

from booking.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    AuditEvent,
    OfferState,
    Patient,
    TimeOfDay,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from booking.offer_acceptance import OfferUnavailable, accept_offer, expire_offers
from booking.services import (
    PatientDetails,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from booking.waitlist import offer_for_token, offer_freed_time, offer_token, time_of_day
from followup.channels import EmailSender, TransientSendError
from followup.content import SMS_OPT_OUT
from followup.models import Message, MessageKind, MessageState
from tests.factories import PatientFactory, WaitlistEntryFactory
from tests.outbox import send_due
from tests.races import run_at_once

NOW = datetime(2026, 11, 30, 14, tzinfo=UTC)  # Monday 09:00 in New York
FREED = datetime(2026, 12, 2, 14, tzinfo=UTC)  # Wednesday 09:00 in New York: a morning


@pytest.fixture
def sms_file(settings, tmp_path):
    settings.SMS_BACKEND = "followup.channels.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    return tmp_path / "sms.jsonl"


def _sms(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _book(clinic, start=FREED) -> Appointment:
    return book_appointment(
        site=clinic["site"],
        start=start,
        clinician=clinic["clinicians"][0],
        patient=PatientDetails(
            first_name="Cara",
            last_name="Cancel",
            date_of_birth=date(1960, 1, 1),
            email="cara@example.org",
        ),
        source=AppointmentSource.RECEPTION,
        consent_email=True,
    )


def _offers_sent() -> list:
    return [message for message in mail.outbox if "has come free" in message.subject]


def _cancel(appointment, now=NOW) -> None:
    """Cancel as the desk does, then let the outbox send what is due."""
    cancel_appointment(appointment=appointment, reason="Unwell", by_patient=False)
    send_due(now)


# --- matching ------------------------------------------------------------------------------


def test_time_of_day_boundaries():
    zone_free = datetime(2026, 12, 2, 11, 59, tzinfo=UTC)
    assert time_of_day(zone_free) == TimeOfDay.MORNING
    assert time_of_day(zone_free.replace(hour=12, minute=0)) == TimeOfDay.AFTERNOON
    assert time_of_day(zone_free.replace(hour=16, minute=59)) == TimeOfDay.AFTERNOON
    assert time_of_day(zone_free.replace(hour=17, minute=0)) == TimeOfDay.EVENING


def test_a_cancellation_offers_the_time_to_the_first_matching_patients(
    clinic, clock, sms_file, settings
):
    settings.WAITLIST_OFFERS_PER_SLOT = 2
    adams, brown = clinic["clinicians"]
    appointment = _book(clinic)
    cancelled_patient = appointment.patient
    WaitlistEntryFactory(patient=cancelled_patient)  # never offered their own time
    wrong_day = WaitlistEntryFactory(preferred_weekdays=[0, 1])
    wrong_time = WaitlistEntryFactory(preferred_times=[TimeOfDay.AFTERNOON])
    wrong_clinician = WaitlistEntryFactory(clinician=brown)
    unreachable = WaitlistEntryFactory(patient=PatientFactory(consent_email=False))
    first = WaitlistEntryFactory(
        preferred_weekdays=[2], preferred_times=[TimeOfDay.MORNING], clinician=adams
    )
    second = WaitlistEntryFactory(
        patient=PatientFactory(first_name="Sam", email="", phone="+12025550143", consent_sms=True),
        location=clinic["location"],
    )
    third = WaitlistEntryFactory()  # matches, but over the limit of two
    mail.outbox.clear()

    _cancel(appointment)

    offers = WaitlistOffer.objects.order_by("entry__created")
    assert [offer.entry for offer in offers] == [first, second]
    for offer in offers:
        assert offer.start == FREED
        assert offer.clinician == adams
        assert offer.location == clinic["location"]
        assert offer.expires_at == NOW + timedelta(hours=2)
        assert offer.state == OfferState.PENDING
    for entry in (wrong_day, wrong_time, wrong_clinician, unreachable, third):
        assert not entry.offers.exists()
    emails = _offers_sent()
    assert [message.to for message in emails] == [[first.patient.email]]
    body = emails[0].body
    assert first.patient.first_name in body
    assert settings.CLINIC_NAME in body
    assert "Wednesday, December 2 at 9:00 AM" in body
    assert f"http://testserver/waitlist/offer/{offer_token(offers[0])}/" in body
    assert "umbar" not in body  # no site name
    assert "umbar" not in emails[0].subject
    texts = _sms(sms_file)
    assert len(texts) == 1
    assert texts[0]["to"] == "+12025550143"
    assert "Hi Sam" in texts[0]["body"]
    assert "/waitlist/offer/" in texts[0]["body"]
    assert "umbar" not in texts[0]["body"]
    assert texts[0]["body"].endswith(SMS_OPT_OUT)


def _reschedule(appointment, **change) -> None:
    reschedule_appointment(appointment=appointment, by_patient=False, **change)
    send_due(NOW)


def test_a_reschedule_offers_the_time_it_left(clinic, clock):
    adams = clinic["clinicians"][0]
    appointment = _book(clinic)
    entry = WaitlistEntryFactory(patient=PatientFactory(first_name="Ria", consent_email=True))
    mail.outbox.clear()

    _reschedule(appointment, start=FREED + timedelta(days=1))

    (offer,) = entry.offers.all()
    assert (offer.start, offer.clinician, offer.location) == (FREED, adams, clinic["location"])
    assert offer.expires_at == NOW + timedelta(hours=2)
    (email,) = _offers_sent()
    assert email.to == [entry.patient.email]
    assert "Wednesday, December 2 at 9:00 AM" in email.body


def test_a_reschedule_to_another_clinician_offers_the_first_ones_time(clinic, clock):
    adams, brown = clinic["clinicians"]
    appointment = _book(clinic)
    entry = WaitlistEntryFactory()

    _reschedule(appointment, start=FREED, clinician=brown)

    (offer,) = entry.offers.all()
    assert (offer.start, offer.clinician) == (FREED, adams)


def test_a_reschedule_onto_part_of_its_own_time_offers_nothing(clinic, clock):
    appointment = _book(clinic)
    entry = WaitlistEntryFactory()
    mail.outbox.clear()

    _reschedule(appointment, start=FREED + timedelta(minutes=15))

    assert not entry.offers.exists()
    assert _offers_sent() == []


def _freed(clinic) -> Appointment:
    appointment = _book(clinic)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save()
    return appointment


def test_offers_are_made_once_per_entry_and_time(clinic, clock):
    appointment = _freed(clinic)
    entry = WaitlistEntryFactory()
    assert len(offer_freed_time(appointment, now=NOW)) == 1
    assert offer_freed_time(appointment, now=NOW) == []
    assert entry.offers.count() == 1


def test_no_offer_when_the_time_is_taken_again_or_passed(clinic, clock):
    appointment = _book(clinic)
    WaitlistEntryFactory()
    # Not cancelled: the time is still held.
    assert offer_freed_time(appointment, now=NOW) == []
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save()
    assert offer_freed_time(appointment, now=FREED + timedelta(minutes=1)) == []


def test_the_hold_never_outlasts_the_start(clinic, clock):
    appointment = _freed(clinic)
    WaitlistEntryFactory()
    (offer,) = offer_freed_time(appointment, now=FREED - timedelta(minutes=30))
    assert offer.expires_at == FREED


def test_offers_are_made_with_the_cancellation_itself(clinic, clock):
    appointment = _book(clinic)
    entry = WaitlistEntryFactory()
    with transaction.atomic():
        cancel_appointment(appointment=appointment, by_patient=False)
        transaction.set_rollback(True)  # a cancellation that fails takes its offers with it
    assert not entry.offers.exists()
    assert not Message.objects.filter(kind=MessageKind.WAITLIST_OFFER).exists()
    cancel_appointment(appointment=appointment, by_patient=False)
    offer = entry.offers.get()
    assert offer.notified_at is None  # made, not sent yet
    (row,) = offer.messages.all()
    assert (row.kind, row.channel, row.due_at) == (MessageKind.WAITLIST_OFFER, "email", NOW)


# --- sending offers ------------------------------------------------------------------------


def test_an_offer_goes_out_once_through_the_outbox_and_the_desk_sees_when(
    client, receptionist, clinic, clock
):
    appointment = _book(clinic)
    entry = WaitlistEntryFactory(patient=PatientFactory(first_name="Ida", consent_email=True))
    mail.outbox.clear()
    cancel_appointment(appointment=appointment, by_patient=False)
    (offer,) = entry.offers.all()
    assert _offers_sent() == []
    client.force_login(receptionist)
    assert "(Pending, not sent yet)" in client.get("/desk/waitlist/").content.decode()

    send_due(NOW)
    send_due(NOW + timedelta(minutes=1))  # a second tick, or a duplicate delivery: nothing

    assert [message.to for message in _offers_sent()] == [[entry.patient.email]]
    offer.refresh_from_db()
    assert offer.notified_at == NOW
    assert "not sent yet" not in client.get("/desk/waitlist/").content.decode()


def test_an_offer_the_provider_refused_goes_out_when_it_is_back(clinic, clock, monkeypatch):
    appointment = _freed(clinic)
    WaitlistEntryFactory(patient=PatientFactory(consent_email=True))

    def provider_down(self, outbound):
        raise TransientSendError("SMTP timed out")

    monkeypatch.setattr(EmailSender, "send", provider_down)
    mail.outbox.clear()
    (offer,) = offer_freed_time(appointment, now=NOW)
    send_due(NOW)
    offer.refresh_from_db()
    assert offer.notified_at is None
    (row,) = offer.messages.all()
    assert (row.state, row.due_at) == (MessageState.SCHEDULED, NOW + timedelta(minutes=1))

    monkeypatch.undo()
    send_due(NOW + timedelta(minutes=1))
    offer.refresh_from_db()
    assert offer.notified_at == NOW + timedelta(minutes=1)
    assert len(_offers_sent()) == 1


def test_an_offer_past_its_hold_or_no_longer_pending_is_never_sent(clinic, clock):
    appointment = _freed(clinic)
    WaitlistEntryFactory(patient=PatientFactory(consent_email=True))
    WaitlistEntryFactory(patient=PatientFactory(consent_email=True))
    expiring, gone = offer_freed_time(appointment, now=NOW)
    WaitlistOffer.objects.filter(pk=gone.pk).update(state=OfferState.GONE)
    mail.outbox.clear()

    send_due(expiring.expires_at)

    assert _offers_sent() == []
    assert set(
        Message.objects.filter(kind=MessageKind.WAITLIST_OFFER).values_list("state", "skip_reason")
    ) == {
        (MessageState.CANCELLED, "The offer's hold has ended."),
        (MessageState.CANCELLED, "The offer is taken by someone else."),
    }


def test_at_night_an_offer_goes_by_email_at_once_and_by_text_in_the_morning(
    clinic, sms_file, settings
):
    settings.WAITLIST_HOLD_MINUTES = 12 * 60
    night = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)  # Monday 22:30 in New York
    morning = datetime(2026, 12, 1, 13, tzinfo=UTC)  # Tuesday 08:00 in New York
    with time_machine.travel(night - timedelta(days=1), tick=False):
        appointment = _book(clinic)
    by_email = WaitlistEntryFactory(patient=PatientFactory(consent_email=True))
    by_text = WaitlistEntryFactory(
        patient=PatientFactory(email="", phone="+12025550143", consent_sms=True)
    )
    mail.outbox.clear()
    with time_machine.travel(night, tick=False):
        _cancel(appointment, now=night)
    assert [message.to for message in _offers_sent()] == [[by_email.patient.email]]
    assert _sms(sms_file) == []
    assert by_text.offers.get().notified_at is None
    send_due(morning - timedelta(minutes=1))  # 07:59: still the quiet hours
    assert _sms(sms_file) == []
    send_due(morning)
    (text,) = _sms(sms_file)
    assert text["to"] == "+12025550143"
    assert len(_offers_sent()) == 1


def test_a_text_whose_quiet_hours_outlast_the_hold_is_skipped_with_the_reason(clinic, settings):
    settings.WAITLIST_HOLD_MINUTES = 60
    night = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)  # Monday 22:30 in New York
    with time_machine.travel(night - timedelta(days=1), tick=False):
        appointment = _book(clinic)
    WaitlistEntryFactory(patient=PatientFactory(email="", phone="+12025550143", consent_sms=True))
    with time_machine.travel(night, tick=False):
        cancel_appointment(appointment=appointment, by_patient=False)
    (row,) = Message.objects.filter(kind=MessageKind.WAITLIST_OFFER)
    assert (row.state, row.skip_reason) == (
        MessageState.SKIPPED,
        "The quiet hours last past the hold.",
    )


# --- the offer page ---------------------------------------------------------------------


@pytest.fixture
def two_offers(clinic, clock):
    appointment = _book(clinic)
    first = WaitlistEntryFactory(patient=PatientFactory(first_name="Fay", consent_email=True))
    second = WaitlistEntryFactory(patient=PatientFactory(first_name="Gil", consent_email=True))
    _cancel(appointment)
    mail.outbox.clear()
    return WaitlistOffer.objects.get(entry=first), WaitlistOffer.objects.get(entry=second)


def test_the_offer_page_shows_the_time(client, two_offers):
    offer, _ = two_offers
    response = client.get(f"/waitlist/offer/{offer_token(offer)}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Fay" in page
    assert "Wednesday, December 2, 2026 at 9:00 AM" in page
    assert "Accept this time" in page


def test_accepting_books_the_time_and_tells_the_others(client, two_offers, clinic):
    offer, other = two_offers
    response = client.post(f"/waitlist/offer/{offer_token(offer)}/")
    send_due(NOW)
    assert response.status_code == 302
    assert response["Location"].startswith("/booked/")
    appointment = Appointment.objects.active().get(start=FREED)
    assert appointment.patient == offer.entry.patient
    assert appointment.clinician == clinic["clinicians"][0]
    assert appointment.source == AppointmentSource.RECEPTION
    offer.refresh_from_db()
    other.refresh_from_db()
    assert offer.state == OfferState.ACCEPTED
    assert offer.appointment == appointment
    assert offer.entry.status == WaitlistStatus.BOOKED
    assert other.state == OfferState.GONE
    assert other.entry.status == WaitlistStatus.WAITING
    gone = [message for message in mail.outbox if "has gone" in message.subject]
    assert [message.to for message in gone] == [[other.entry.patient.email]]
    assert "Gil" in gone[0].body
    assert "umbar" not in gone[0].body
    # The other's link now says the time has gone; the winner's shows the booking.
    closed = client.get(f"/waitlist/offer/{offer_token(other)}/")
    assert closed.status_code == 410
    assert "that time has gone" in closed.content.decode()
    again = client.post(f"/waitlist/offer/{offer_token(offer)}/")
    assert again.status_code == 302
    assert Appointment.objects.active().filter(start=FREED).count() == 1


def test_a_patient_whose_offer_never_went_out_is_not_told_it_has_gone(two_offers):
    offer, unsent = two_offers
    WaitlistOffer.objects.filter(pk=unsent.pk).update(notified_at=None)  # its provider failed
    Message.objects.filter(waitlist_offer=unsent).update(state=MessageState.SCHEDULED, sent_at=None)
    accept_offer(offer)
    send_due(NOW)
    unsent.refresh_from_db()
    assert unsent.state == OfferState.GONE
    assert [message for message in mail.outbox if "has gone" in message.subject] == []
    assert _offers_sent() == []  # nor offered, now the time is taken


def test_accepting_twice_books_once(two_offers):
    offer, _ = two_offers
    first = accept_offer(offer)
    assert accept_offer(offer) == first
    assert Appointment.objects.active().filter(start=FREED).count() == 1


def test_two_patients_accepting_one_after_the_other_one_wins(two_offers):
    offer, other = two_offers
    accept_offer(offer)
    other.refresh_from_db()
    other.state = OfferState.PENDING  # as if the winner's update had not reached it yet
    other.save()
    with pytest.raises(OfferUnavailable) as raised:
        accept_offer(other)
    assert raised.value.state == OfferState.GONE
    other.refresh_from_db()
    assert other.state == OfferState.GONE
    assert Appointment.objects.active().filter(start=FREED).count() == 1


def test_an_expired_offer_says_so_and_books_nothing(client, two_offers, clock):
    offer, _ = two_offers
    clock.move_to(offer.expires_at)
    response = client.post(f"/waitlist/offer/{offer_token(offer)}/")
    assert response.status_code == 410
    assert "This offer has expired" in response.content.decode()
    offer.refresh_from_db()
    assert offer.state == OfferState.EXPIRED
    assert not Appointment.objects.active().filter(start=FREED).exists()


def test_expire_offers_marks_only_those_past_their_hold(two_offers, clock):
    offer, _ = two_offers
    assert expire_offers(now=offer.expires_at - timedelta(seconds=1)) == 0
    assert expire_offers(now=offer.expires_at) == 2


def test_a_tampered_or_foreign_token_shows_nothing(client, two_offers):
    offer, _ = two_offers
    token = offer_token(offer)
    assert offer_for_token(token[:-2] + "xx") is None
    response = client.get(f"/waitlist/offer/{token[:-2]}xx/")
    assert response.status_code == 404
    assert "Fay" not in response.content.decode()
    from django.core import signing

    manage_salted = signing.dumps({"offer": offer.pk}, salt="booking.appointment.manage")
    assert client.get(f"/waitlist/offer/{manage_salted}/").status_code == 404


# --- the race ----------------------------------------------------------------------------


def _accept(offer: WaitlistOffer) -> str:
    try:
        accept_offer(offer)
    except OfferUnavailable as unavailable:
        return unavailable.state
    return "booked"


def _race(clinic) -> None:
    with time_machine.travel(NOW, tick=False):
        appointment = _book(clinic)
        entries = [
            WaitlistEntryFactory(patient=PatientFactory(first_name=f"P{n}", consent_email=True))
            for n in range(3)
        ]
        appointment.status = AppointmentStatus.CANCELLED
        appointment.save()
        offers = offer_freed_time(appointment, now=NOW)
        assert len(offers) == len(entries)
        outcomes = run_at_once([partial(_accept, offer) for offer in offers])
    assert sorted(outcomes) == ["booked", "gone", "gone"]
    assert Appointment.objects.active().filter(start=FREED).count() == 1
    states = sorted(WaitlistOffer.objects.values_list("state", flat=True))
    assert states == ["accepted", "gone", "gone"]
    assert WaitlistEntry.objects.filter(status=WaitlistStatus.BOOKED).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_patients_accepting_at_once_get_one_appointment(clinic):
    _race(clinic)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_patients_accepting_at_once_on_postgres_meet_the_constraint(clinic):
    _race(clinic)


# --- joining online -----------------------------------------------------------------------


def test_the_times_page_links_to_the_waitlist(client, clinic, clock):
    page = client.get("/book/lumbar/").content.decode()
    assert 'href="/book/lumbar/waitlist/"' in page
    assert "No time suits you?" in page


def test_a_patient_joins_the_waitlist_online(client, clinic, clock):
    response = client.post(
        "/book/lumbar/waitlist/",
        {
            "first_name": "Nia",
            "last_name": "Online",
            "date_of_birth": "1975-03-04",
            "email": "Nia@Example.org",
            "consent_email": "on",
            "weekdays": ["1", "3"],
            "times": [TimeOfDay.AFTERNOON],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/book/lumbar/waitlist/thanks/"
    entry = WaitlistEntry.objects.get()
    assert entry.patient.email == "nia@example.org"
    assert entry.patient.consent_email
    assert entry.source == AppointmentSource.ONLINE
    assert entry.preferred_weekdays == [1, 3]
    assert entry.preferred_times == [TimeOfDay.AFTERNOON]
    assert client.get(response["Location"]).status_code == 200


def test_joining_online_needs_a_way_to_reach_the_patient(client, clinic, clock):
    response = client.post(
        "/book/lumbar/waitlist/",
        {"first_name": "Nia", "last_name": "Online", "date_of_birth": "1975-03-04"},
    )
    assert response.status_code == 200
    assert "Please check the form" in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_joining_again_updates_the_waiting_entry(client, clinic, clock):
    form = {
        "first_name": "Nia",
        "last_name": "Online",
        "date_of_birth": "1975-03-04",
        "email": "nia@example.org",
        "consent_email": "on",
    }
    client.post("/book/lumbar/waitlist/", form)
    client.post("/book/lumbar/waitlist/", {**form, "times": [TimeOfDay.EVENING]})
    entry = WaitlistEntry.objects.get()
    assert entry.preferred_times == [TimeOfDay.EVENING]
    assert Patient.objects.count() == 1


# --- reception ----------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client, db):
    for response in (client.get("/desk/waitlist/"), client.post("/desk/waitlist/1/remove/")):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["patient_user", "clinician_user"])
def test_patients_and_clinicians_have_no_waitlist_desk(client, who, request, clinic):
    entry = WaitlistEntryFactory()
    client.force_login(request.getfixturevalue(who))
    assert client.get("/desk/waitlist/").status_code == 403
    assert client.post("/desk/waitlist/", {}).status_code == 403
    assert client.post(f"/desk/waitlist/{entry.pk}/remove/").status_code == 403
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING


@pytest.mark.parametrize("who", ["receptionist", "clinic_admin"])
def test_reception_and_admins_see_the_waitlist(client, who, request, clinic):
    entry = WaitlistEntryFactory(preferred_weekdays=[0], preferred_times=[TimeOfDay.MORNING])
    client.force_login(request.getfixturevalue(who))
    response = client.get("/desk/waitlist/")
    assert response.status_code == 200
    page = response.content.decode()
    assert str(entry.patient) in page
    assert "Mon" in page
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).exists()


def test_reception_finds_a_patient_and_adds_them(client, receptionist, clinic):
    patient = PatientFactory(first_name="Olga", last_name="Known", phone="+12025550188")
    client.force_login(receptionist)
    for query in ("olga", "1970-05-17", "2025550188"):
        found = client.get("/desk/waitlist/", {"q": query}).content.decode()
        assert f"?patient={patient.pk}" in found, query
    chosen = client.get("/desk/waitlist/", {"patient": patient.pk}).content.decode()
    assert "Olga Known" in chosen
    response = client.post(
        "/desk/waitlist/",
        {
            "patient": patient.pk,
            "site": clinic["site"].pk,
            "weekdays": ["4"],
            "clinician": clinic["clinicians"][1].pk,
        },
    )
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert entry.patient == patient
    assert entry.source == AppointmentSource.RECEPTION
    assert entry.clinician == clinic["clinicians"][1]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREATE, patient=patient).exists()


def test_reception_adds_a_new_patient(client, receptionist, clinic):
    client.force_login(receptionist)
    response = client.post(
        "/desk/waitlist/",
        {
            "first_name": "Pia",
            "last_name": "New",
            "date_of_birth": "1980-02-02",
            "phone": "+12025550166",
            "consent_sms": "on",
            "site": clinic["site"].pk,
        },
    )
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert entry.patient.first_name == "Pia"
    assert entry.patient.consent_sms


def test_reception_must_name_a_patient(client, receptionist, clinic):
    client.force_login(receptionist)
    response = client.post("/desk/waitlist/", {"site": clinic["site"].pk})
    assert response.status_code == 200
    assert not WaitlistEntry.objects.exists()


def test_reception_removes_an_entry(client, receptionist, clinic):
    entry = WaitlistEntryFactory()
    client.force_login(receptionist)
    assert client.post(f"/desk/waitlist/{entry.pk}/remove/").status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REMOVED
    assert client.post(f"/desk/waitlist/{entry.pk}/remove/").status_code == 404
    assert reverse("desk:waitlist") == "/desk/waitlist/"
