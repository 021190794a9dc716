"""The waitlist: patients waiting for a site, and offers of freed times.

When an appointment is cancelled or rescheduled (every route goes through
`cancel_appointment` or `reschedule_appointment`), the same transaction offers the freed
time to the first matching waiting patients (`WAITLIST_OFFERS_PER_SLOT`, by the order they
joined), with a signed hold link valid for `WAITLIST_HOLD_MINUTES`. Each offer is announced
(booking.events) in that transaction, and the outbox plans its messages by email and/or
SMS, as the patient agreed, so they go out as every message does. Accepting
(`booking.offer_acceptance`) books through `book_appointment`, so the database's no-overlap
rule lets exactly one of them have it; the others' offers become `gone` and they are told.
"""

import copy
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core import signing
from django.urls import reverse

from booking.events import waitlist_offers_made
from booking.formats import clock
from booking.models import (
    Appointment,
    AppointmentSource,
    Block,
    Clinician,
    Location,
    Patient,
    Site,
    TimeOfDay,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from booking.notifications import absolute_url

logger = logging.getLogger(__name__)

OFFER_SALT = "booking.waitlist.offer"


def offers_per_slot() -> int:
    return int(getattr(settings, "WAITLIST_OFFERS_PER_SLOT", 3))


def hold_minutes() -> int:
    return int(getattr(settings, "WAITLIST_HOLD_MINUTES", 120))


def time_of_day(moment: datetime) -> TimeOfDay:
    """Morning before 12:00, afternoon 12:00 to 17:00, evening after: wall clock of `moment`."""
    if moment.hour < 12:
        return TimeOfDay.MORNING
    if moment.hour < 17:
        return TimeOfDay.AFTERNOON
    return TimeOfDay.EVENING


# --- joining ---------------------------------------------------------------------------------


def add_to_waitlist(
    *,
    patient: Patient,
    site: Site,
    source: AppointmentSource,
    weekdays: Iterable[int] = (),
    times: Iterable[str] = (),
    clinician: Clinician | None = None,
    location: Location | None = None,
    notes: str = "",
) -> WaitlistEntry:
    """Put the patient on the site's waitlist; an existing waiting entry is updated instead."""
    preferences = {
        "preferred_weekdays": sorted({int(day) for day in weekdays}),
        "preferred_times": [value for value in TimeOfDay.values if value in set(times)],
        "clinician": clinician,
        "location": location,
        "notes": notes.strip(),
        "source": source,
    }
    entry = WaitlistEntry.objects.filter(
        patient=patient, site=site, status=WaitlistStatus.WAITING
    ).first()
    if entry is None:
        return WaitlistEntry.objects.create(patient=patient, site=site, **preferences)
    for name, value in preferences.items():
        setattr(entry, name, value)
    entry.save()
    return entry


def remove_from_waitlist(entry: WaitlistEntry) -> None:
    entry.status = WaitlistStatus.REMOVED
    entry.save(update_fields=["status"])


# --- matching and offering ----------------------------------------------------------------


def reachable(patient: Patient) -> list[tuple[str, str]]:
    """The (channel, recipient) pairs the patient agreed to be contacted on."""
    channels = []
    if patient.consent_email and patient.email:
        channels.append(("email", patient.email))
    if patient.consent_sms and patient.phone:
        channels.append(("sms", str(patient.phone.as_e164)))
    return channels


def entry_matches(entry: WaitlistEntry, appointment: Appointment) -> bool:
    local = appointment.start.astimezone(appointment.location.zone)
    return (
        (not entry.preferred_weekdays or local.weekday() in entry.preferred_weekdays)
        and (not entry.preferred_times or time_of_day(local) in entry.preferred_times)
        and entry.clinician_id in (None, appointment.clinician_id)
        and entry.location_id in (None, appointment.location_id)
        and entry.patient_id != appointment.patient_id
    )


def matching_entries(appointment: Appointment, *, limit: int) -> list[WaitlistEntry]:
    """The first `limit` waiting entries (oldest first) the freed time suits."""
    waiting = (
        WaitlistEntry.objects.filter(site=appointment.site_id, status=WaitlistStatus.WAITING)
        .exclude(patient=appointment.patient_id)
        .select_related("patient")
        .order_by("created", "pk")
    )
    chosen: list[WaitlistEntry] = []
    for entry in waiting.iterator(chunk_size=200):
        if entry_matches(entry, appointment) and reachable(entry.patient):
            chosen.append(entry)
            if len(chosen) >= limit:
                break
    return chosen


def _still_free(appointment: Appointment) -> bool:
    held = (
        Appointment.objects.active()
        .overlapping(appointment.start, appointment.blocked_until)
        .filter(clinician=appointment.clinician_id)
        .exists()
    )
    blocked = Block.objects.filter(
        clinician=appointment.clinician_id,
        start__lt=appointment.blocked_until,
        end__gt=appointment.start,
    ).exists()
    return not held and not blocked


def offer_freed_time(freed: Appointment, *, now: datetime) -> list[WaitlistOffer]:
    """Offers of the time `freed` held (an appointment just cancelled, or `time_left` by
    one just rescheduled) to the first matching waiting patients, made in the caller's
    transaction: they exist exactly when the change that freed the time does, and so do
    their messages (announced in it). The new offers; none for an entry already offered
    the time (a unique constraint).
    """
    if freed.start <= now or not _still_free(freed):
        return []
    expires_at = min(now + timedelta(minutes=hold_minutes()), freed.start)
    created: list[WaitlistOffer] = []
    for entry in matching_entries(freed, limit=offers_per_slot()):
        offer, is_new = WaitlistOffer.objects.get_or_create(
            entry=entry,
            start=freed.start,
            clinician=freed.clinician,
            defaults={"site": freed.site, "location": freed.location, "expires_at": expires_at},
        )
        if is_new:
            created.append(offer)
    if created:
        waitlist_offers_made.send(WaitlistOffer, offers=created, now=now)
    return created


def time_left(appointment: Appointment, start: datetime, clinician: Clinician) -> Appointment:
    """An unsaved copy of a rescheduled `appointment` at the time it left (`start`, with
    `clinician`), to be offered as a cancellation's time is. Its row, now at the new time,
    still holds the old one only where the two overlap, and then the old time is not free."""
    left = copy.copy(appointment)
    left.end = start + (appointment.end - appointment.start)
    left.blocked_until = start + (appointment.blocked_until - appointment.start)
    left.start = start
    left.clinician = clinician
    return left


# --- links and messages ---------------------------------------------------------------


def offer_token(offer: WaitlistOffer) -> str:
    return signing.dumps({"offer": offer.pk}, salt=OFFER_SALT)


def offer_for_token(token: str) -> WaitlistOffer | None:
    """The offer a hold link names, or None if tampered or unknown (expiry is the page's)."""
    try:
        payload = signing.loads(token, salt=OFFER_SALT)
        pk = int(payload["offer"])
    except (signing.BadSignature, TypeError, ValueError, KeyError):
        return None
    return (
        WaitlistOffer.objects.select_related(
            "entry__patient", "site", "clinician", "location", "appointment"
        )
        .filter(pk=pk)
        .first()
    )


def offer_url(offer: WaitlistOffer) -> str:
    return absolute_url(reverse("booking:waitlist_offer", args=[offer_token(offer)]))


class OfferNotice(StrEnum):
    OFFER = "offer"
    GONE = "gone"


def offer_message_text(offer: WaitlistOffer, notice: OfferNotice) -> tuple[str, str]:
    """(subject, body): first name, clinic name, date, time and link only."""
    local = offer.start.astimezone(offer.location.zone)
    first_name = offer.entry.patient.first_name
    clinic = settings.CLINIC_NAME
    when = f"{local:%A, %B} {local.day} at {clock(local)}"
    if notice == OfferNotice.OFFER:
        return (
            f"A time has come free at {clinic}",
            f"Hi {first_name}, a time has come free at {clinic}: {when}. "
            f"It is held for you for a short while; to take it, open {offer_url(offer)}",
        )
    return (
        f"The time at {clinic} has gone",
        f"Hi {first_name}, sorry: the time at {clinic} on {when} has gone. "
        "You stay on our waitlist.",
    )
