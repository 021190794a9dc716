"""The waitlist: joining (desk and online), offers of freed times, accepting, the race."""

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connections, transaction
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
from booking.services import (
    PatientDetails,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from booking.tasks import send_unsent_offers_task
from booking.waitlist import (
    OfferUnavailable,
    accept_offer,
    expire_offers,
    offer_for_token,
    offer_freed_time,
    offer_token,
    send_unsent_offers,
    time_of_day,
)
from followup.channels import EmailSender, TransientSendError
from followup.content import SMS_OPT_OUT
from tests.factories import PatientFactory, WaitlistEntryFactory

NOW = datetime(2026, 11, 30, 14, tzinfo=UTC)  # Monday 09:00 in New York
FREED = datetime(2026, 12, 2, 14, tzinfo=UTC)  # Wednesday 09:00 in New York: a morning


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


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


def _cancel(appointment, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment(appointment=appointment, reason="Unwell", by_patient=False)


# --- matching ------------------------------------------------------------------------------


def test_time_of_day_boundaries():
    zone_free = datetime(2026, 12, 2, 11, 59, tzinfo=UTC)
    assert time_of_day(zone_free) == TimeOfDay.MORNING
    assert time_of_day(zone_free.replace(hour=12, minute=0)) == TimeOfDay.AFTERNOON
    assert time_of_day(zone_free.replace(hour=16, minute=59)) == TimeOfDay.AFTERNOON
    assert time_of_day(zone_free.replace(hour=17, minute=0)) == TimeOfDay.EVENING


def test_a_cancellation_offers_the_time_to_the_first_matching_patients(
    clinic, frozen, sms_file, settings, django_capture_on_commit_callbacks
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

    _cancel(appointment, django_capture_on_commit_callbacks)

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
    assert "Wednesday 02 December at 09:00" in body
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


def _reschedule(appointment, django_capture_on_commit_callbacks, **change) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        reschedule_appointment(appointment=appointment, by_patient=False, **change)


def test_a_reschedule_offers_the_time_it_left(clinic, frozen, django_capture_on_commit_callbacks):
    adams = clinic["clinicians"][0]
    appointment = _book(clinic)
    entry = WaitlistEntryFactory(patient=PatientFactory(first_name="Ria", consent_email=True))
    mail.outbox.clear()

    _reschedule(appointment, django_capture_on_commit_callbacks, start=FREED + timedelta(days=1))

    (offer,) = entry.offers.all()
    assert (offer.start, offer.clinician, offer.location) == (FREED, adams, clinic["location"])
    assert offer.expires_at == NOW + timedelta(hours=2)
    (email,) = _offers_sent()
    assert email.to == [entry.patient.email]
    assert "Wednesday 02 December at 09:00" in email.body


def test_a_reschedule_to_another_clinician_offers_the_first_ones_time(
    clinic, frozen, django_capture_on_commit_callbacks
):
    adams, brown = clinic["clinicians"]
    appointment = _book(clinic)
    entry = WaitlistEntryFactory()

    _reschedule(appointment, django_capture_on_commit_callbacks, start=FREED, clinician=brown)

    (offer,) = entry.offers.all()
    assert (offer.start, offer.clinician) == (FREED, adams)


def test_a_reschedule_onto_part_of_its_own_time_offers_nothing(
    clinic, frozen, django_capture_on_commit_callbacks
):
    appointment = _book(clinic)
    entry = WaitlistEntryFactory()
    mail.outbox.clear()

    _reschedule(
        appointment, django_capture_on_commit_callbacks, start=FREED + timedelta(minutes=15)
    )

    assert not entry.offers.exists()
    assert _offers_sent() == []


def _freed(clinic) -> Appointment:
    appointment = _book(clinic)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save()
    return appointment


def test_offers_are_made_once_per_entry_and_time(clinic, frozen):
    appointment = _freed(clinic)
    entry = WaitlistEntryFactory()
    assert len(offer_freed_time(appointment, now=NOW)) == 1
    assert offer_freed_time(appointment, now=NOW) == []
    assert entry.offers.count() == 1


def test_no_offer_when_the_time_is_taken_again_or_passed(clinic, frozen):
    appointment = _book(clinic)
    WaitlistEntryFactory()
    # Not cancelled: the time is still held.
    assert offer_freed_time(appointment, now=NOW) == []
    appointment.status = AppointmentStatus.CANCELLED
    appointment.save()
    assert offer_freed_time(appointment, now=FREED + timedelta(minutes=1)) == []


def test_the_hold_never_outlasts_the_start(clinic, frozen):
    appointment = _freed(clinic)
    WaitlistEntryFactory()
    (offer,) = offer_freed_time(appointment, now=FREED - timedelta(minutes=30))
    assert offer.expires_at == FREED


def test_offers_are_made_with_the_cancellation_itself(clinic, frozen):
    appointment = _book(clinic)
    entry = WaitlistEntryFactory()
    with transaction.atomic():
        cancel_appointment(appointment=appointment, by_patient=False)
        transaction.set_rollback(True)  # a cancellation that fails takes its offers with it
    assert not entry.offers.exists()
    cancel_appointment(appointment=appointment, by_patient=False)
    assert entry.offers.get().notified_at is None  # sent once the cancellation commits


# --- sending offers ------------------------------------------------------------------------


def test_offers_whose_sending_task_was_lost_go_out_with_the_next_sweep_once(
    client, receptionist, clinic, frozen, django_capture_on_commit_callbacks
):
    appointment = _book(clinic)
    entry = WaitlistEntryFactory(patient=PatientFactory(first_name="Ida", consent_email=True))
    mail.outbox.clear()
    # The cancellation commits, but the task that would send its offers never runs (a
    # worker or a Redis that keeps nothing lost it).
    with django_capture_on_commit_callbacks(execute=False):
        cancel_appointment(appointment=appointment, by_patient=False)
    (offer,) = entry.offers.all()
    assert offer.notified_at is None
    assert _offers_sent() == []
    client.force_login(receptionist)
    assert "(Pending, not sent yet)" in client.get("/desk/waitlist/").content.decode()

    assert send_unsent_offers_task.apply().get() == 1
    assert [message.to for message in _offers_sent()] == [[entry.patient.email]]
    offer.refresh_from_db()
    assert offer.notified_at == NOW
    assert send_unsent_offers() == 0
    assert len(_offers_sent()) == 1
    assert "not sent yet" not in client.get("/desk/waitlist/").content.decode()


def test_an_offer_no_channel_took_goes_out_when_the_provider_is_back(clinic, frozen, monkeypatch):
    appointment = _freed(clinic)
    WaitlistEntryFactory(patient=PatientFactory(consent_email=True))

    def provider_down(self, outbound):
        raise TransientSendError("SMTP timed out")

    monkeypatch.setattr(EmailSender, "send", provider_down)
    mail.outbox.clear()
    (offer,) = offer_freed_time(appointment, now=NOW)
    assert send_unsent_offers() == 0
    offer.refresh_from_db()
    assert offer.notified_at is None

    monkeypatch.undo()
    frozen.move_to(NOW + timedelta(minutes=1))
    assert send_unsent_offers() == 1
    offer.refresh_from_db()
    assert offer.notified_at == NOW + timedelta(minutes=1)
    assert len(_offers_sent()) == 1


def test_an_unsent_offer_past_its_hold_or_no_longer_pending_is_never_sent(clinic, frozen):
    appointment = _freed(clinic)
    WaitlistEntryFactory(patient=PatientFactory(consent_email=True))
    WaitlistEntryFactory(patient=PatientFactory(consent_email=True))
    expiring, gone = offer_freed_time(appointment, now=NOW)
    WaitlistOffer.objects.filter(pk=gone.pk).update(state=OfferState.GONE)
    mail.outbox.clear()
    frozen.move_to(expiring.expires_at)
    assert send_unsent_offers() == 0
    assert _offers_sent() == []


def test_at_night_an_offer_goes_by_email_at_once_and_by_text_in_the_morning(
    clinic, sms_file, settings, django_capture_on_commit_callbacks
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
        with django_capture_on_commit_callbacks(execute=True):
            cancel_appointment(appointment=appointment, by_patient=False)
        assert [message.to for message in _offers_sent()] == [[by_email.patient.email]]
        assert _sms(sms_file) == []
        assert by_text.offers.get().notified_at is None
    with time_machine.travel(morning - timedelta(minutes=1), tick=False):
        assert send_unsent_offers() == 0  # 07:59: still the quiet hours
    with time_machine.travel(morning, tick=False):
        assert send_unsent_offers() == 1
    (text,) = _sms(sms_file)
    assert text["to"] == "+12025550143"
    assert len(_offers_sent()) == 1


def test_the_sweep_runs_every_minute(settings):
    (entry,) = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "booking.tasks.send_unsent_offers_task"
    ]
    assert entry["schedule"] == 60.0


def _a_sweep_waits_on_an_offer_row(deadline_seconds: float = 10) -> bool:
    """Whether another connection is blocked on an offer's row lock (read afresh each poll:
    outside a transaction, PostgreSQL's activity view is not a snapshot)."""
    deadline = time.monotonic() + deadline_seconds
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE %s",
                ['UPDATE "booking_waitlistoffer"%'],
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_send_each_offer_once(clinic, monkeypatch):
    # Everything runs at NOW, the sweeps' threads too (time_machine patches the process's
    # clock), so the offers' hold has not passed whatever day the suite runs.
    with time_machine.travel(NOW, tick=False):
        appointment = _freed(clinic)
        for n in range(3):
            WaitlistEntryFactory(patient=PatientFactory(first_name=f"S{n}", consent_email=True))
        offers = offer_freed_time(appointment, now=NOW)
        assert len(offers) == 3
        send = EmailSender.send
        other_sweep_waits = threading.Event()

        def provider_held_until_the_other_sweep_waits(self, outbound):
            # The first send holds its offer's row until the other sweep is blocked on a
            # row: the two sweeps provably overlap, on the same offer.
            other_sweep_waits.wait(timeout=15)
            return send(self, outbound)

        monkeypatch.setattr(EmailSender, "send", provider_held_until_the_other_sweep_waits)
        mail.outbox.clear()
        barrier = threading.Barrier(2)
        counts: list[int] = []

        def sweep() -> None:
            try:
                barrier.wait()
                counts.append(send_unsent_offers())
            finally:
                connections.close_all()

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        overlapped = _a_sweep_waits_on_an_offer_row()
        other_sweep_waits.set()
        for thread in threads:
            thread.join(timeout=60)
    assert overlapped, "the second sweep never waited on an offer the first was sending"
    assert sum(counts) == 3
    assert sorted(message.to[0] for message in _offers_sent()) == sorted(
        offer.entry.patient.email for offer in offers
    )
    assert not WaitlistOffer.objects.filter(notified_at__isnull=True).exists()


# --- the offer page ---------------------------------------------------------------------


@pytest.fixture
def two_offers(clinic, frozen, django_capture_on_commit_callbacks):
    appointment = _book(clinic)
    first = WaitlistEntryFactory(patient=PatientFactory(first_name="Fay", consent_email=True))
    second = WaitlistEntryFactory(patient=PatientFactory(first_name="Gil", consent_email=True))
    _cancel(appointment, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    return WaitlistOffer.objects.get(entry=first), WaitlistOffer.objects.get(entry=second)


def test_the_offer_page_shows_the_time(client, two_offers):
    offer, _ = two_offers
    response = client.get(f"/waitlist/offer/{offer_token(offer)}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Fay" in page
    assert "Wednesday 2 December 2026 at 9:00 AM" in page
    assert "Accept this time" in page


def test_accepting_books_the_time_and_tells_the_others(
    client, two_offers, clinic, django_capture_on_commit_callbacks
):
    offer, other = two_offers
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/waitlist/offer/{offer_token(offer)}/")
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


def test_a_patient_whose_offer_never_went_out_is_not_told_it_has_gone(
    two_offers, django_capture_on_commit_callbacks
):
    offer, unsent = two_offers
    WaitlistOffer.objects.filter(pk=unsent.pk).update(notified_at=None)  # its provider failed
    with django_capture_on_commit_callbacks(execute=True):
        accept_offer(offer)
    unsent.refresh_from_db()
    assert unsent.state == OfferState.GONE
    assert [message for message in mail.outbox if "has gone" in message.subject] == []
    assert send_unsent_offers() == 0  # nor offered, now the time is taken


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


def test_an_expired_offer_says_so_and_books_nothing(client, two_offers, frozen):
    offer, _ = two_offers
    frozen.move_to(offer.expires_at)
    response = client.post(f"/waitlist/offer/{offer_token(offer)}/")
    assert response.status_code == 410
    assert "This offer has expired" in response.content.decode()
    offer.refresh_from_db()
    assert offer.state == OfferState.EXPIRED
    assert not Appointment.objects.active().filter(start=FREED).exists()


def test_expire_offers_marks_only_those_past_their_hold(two_offers, frozen):
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


def _accept_concurrently(offers: list[WaitlistOffer]) -> list[str]:
    barrier = threading.Barrier(len(offers))
    outcomes: list[str] = []

    def accept(offer: WaitlistOffer) -> None:
        try:
            barrier.wait()
            accept_offer(offer)
            outcomes.append("booked")
        except OfferUnavailable as unavailable:
            outcomes.append(unavailable.state)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(offer,)) for offer in offers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


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
        outcomes = _accept_concurrently(offers)
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


def test_the_times_page_links_to_the_waitlist(client, clinic, frozen):
    page = client.get("/book/lumbar/").content.decode()
    assert 'href="/book/lumbar/waitlist/"' in page
    assert "No time suits you?" in page


def test_a_patient_joins_the_waitlist_online(client, clinic, frozen):
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


def test_joining_online_needs_a_way_to_reach_the_patient(client, clinic, frozen):
    response = client.post(
        "/book/lumbar/waitlist/",
        {"first_name": "Nia", "last_name": "Online", "date_of_birth": "1975-03-04"},
    )
    assert response.status_code == 200
    assert "Please check the form" in response.content.decode()
    assert not WaitlistEntry.objects.exists()


def test_joining_again_updates_the_waiting_entry(client, clinic, frozen):
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
