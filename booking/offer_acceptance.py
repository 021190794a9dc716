"""Accepting a waitlist offer, and letting the offers no one accepts expire.

`booking.services` offers a freed time through `booking.waitlist` when it cancels or
reschedules; accepting books through `booking.services`. So the offers are made below the
booking functions and answered above them, here, and no import goes both ways.

Accepting books as reception would (source RECEPTION): the clinic itself offered the time,
usually inside the site's online minimum notice (cancellations come late), and a patient
holding a clinic's offer should not be refused by the online notice rule.
"""

import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from booking.events import waitlist_offers_gone
from booking.models import (
    Appointment,
    AppointmentSource,
    OfferState,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from booking.services import BookingError, PatientDetails, book_appointment_once

# Part of every accepted offer's stored booking key: changing it would let an offer
# accepted before the change book a second time.
BOOKING_KEY_SALT = "booking.waitlist.booking-key"


class OfferUnavailable(Exception):
    """The offer can no longer be accepted; `state` says why (expired or gone)."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def _set_state(offer: WaitlistOffer, old: str, new: str, **changes: object) -> bool:
    """Move the offer from `old` to `new` unless someone else moved it first."""
    moved = WaitlistOffer.objects.filter(pk=offer.pk, state=old).update(state=new, **changes)
    if moved:
        offer.state = new
        for name, value in changes.items():
            setattr(offer, name, value)
    return bool(moved)


def expire_if_due(offer: WaitlistOffer, now: datetime) -> None:
    if offer.state == OfferState.PENDING and offer.expires_at <= now:
        _set_state(offer, OfferState.PENDING, OfferState.EXPIRED)
        offer.state = OfferState.EXPIRED


def booking_key(offer: WaitlistOffer) -> uuid.UUID:
    """One booking per offer: accepting twice finds the first booking. An HMAC under the
    secret key, so no one can compute the key of another patient's accepted offer."""
    digest = salted_hmac(BOOKING_KEY_SALT, f"waitlist-offer-{offer.pk}", algorithm="sha256")
    return uuid.UUID(bytes=digest.digest()[:16], version=4)


def accept_offer(offer: WaitlistOffer, *, now: datetime | None = None) -> Appointment:
    """Book the offered time for the offer's patient, or raise OfferUnavailable.

    No row lock is held while booking: the appointment's own guard (the exclusion
    constraint on PostgreSQL, serial transactions on SQLite) decides who gets the time,
    and the offers then change state by compare-and-set updates.
    """
    now = now or timezone.now()
    offer.refresh_from_db()
    if offer.state == OfferState.ACCEPTED and offer.appointment_id is not None:
        return Appointment.objects.get(pk=offer.appointment_id)
    expire_if_due(offer, now)
    if offer.state != OfferState.PENDING:
        raise OfferUnavailable(offer.state)
    patient = offer.entry.patient
    try:
        appointment = book_appointment_once(
            site=offer.site,
            start=offer.start,
            clinician=offer.clinician,
            location=offer.location,
            patient=PatientDetails(
                first_name=patient.first_name,
                last_name=patient.last_name,
                date_of_birth=patient.date_of_birth,
                email=patient.email,
                phone=str(patient.phone.as_e164) if patient.phone else "",
            ),
            source=AppointmentSource.RECEPTION,
            consent_email=patient.consent_email,
            consent_sms=patient.consent_sms,
            notes="Booked from the waitlist.",
            booking_key=booking_key(offer),
            now=now,
        )
    except BookingError as error:
        _set_state(offer, OfferState.PENDING, OfferState.GONE)
        raise OfferUnavailable(OfferState.GONE) from error
    with transaction.atomic():
        _set_state(offer, OfferState.PENDING, OfferState.ACCEPTED, appointment=appointment)
        WaitlistEntry.objects.filter(pk=offer.entry_id).update(status=WaitlistStatus.BOOKED)
        others = WaitlistOffer.objects.filter(
            clinician=offer.clinician_id, start=offer.start, state=OfferState.PENDING
        ).exclude(pk=offer.pk)
        gone = [other for other in others if _set_state(other, OfferState.PENDING, OfferState.GONE)]
        if gone:
            waitlist_offers_gone.send(WaitlistOffer, offers=gone, now=now)
    return appointment


def expire_offers(*, now: datetime | None = None) -> int:
    """Mark pending offers past their hold as expired (a periodic tidy-up; pages also check)."""
    return WaitlistOffer.objects.filter(
        state=OfferState.PENDING, expires_at__lte=now or timezone.now()
    ).update(state=OfferState.EXPIRED)
