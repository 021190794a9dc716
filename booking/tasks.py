from celery import shared_task
from django.core.management import call_command

from booking.notifications import AppointmentEvent, send_appointment_email


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # The mail server down, refusing or slow (smtplib's errors are OSErrors): tried again
    # six times, each after a random wait of up to 1, 2, 4, 8, 15 and 15 minutes (Celery's
    # jitter, so a backlog does not return all at once), then the task fails with the
    # error in the worker's log. The longest wait stays far under the broker's
    # visibility timeout (an hour), so a waiting retry is never delivered twice.
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=900,
    max_retries=6,
)
def send_appointment_email_task(appointment_id: int, event: str) -> bool:
    return send_appointment_email(appointment_id=appointment_id, event=AppointmentEvent(event))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def tell_offer_gone_task(offer_id: int) -> int:
    """Tell a patient the time they were offered has gone to someone else."""
    from booking.waitlist import tell_offer_gone

    return tell_offer_gone(offer_id=offer_id)


@shared_task
def send_unsent_offers_task() -> int:
    """Send the waitlist offers that have not gone out yet (see `send_unsent_offers`)."""
    from booking.waitlist import send_unsent_offers

    return send_unsent_offers()


@shared_task
def expire_waitlist_offers_task() -> int:
    from booking.waitlist import expire_offers

    return expire_offers()


@shared_task
def clear_expired_sessions_task() -> None:
    """Delete expired sessions. A patient's session holds their booking draft (a birth
    date, safety answers) and ends an hour after their last step; an expired session is
    never read, and this takes it out of the database too."""
    call_command("clearsessions")
