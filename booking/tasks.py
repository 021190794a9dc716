from celery import shared_task
from django.core.management import call_command

from booking.offer_acceptance import expire_offers


@shared_task
def expire_waitlist_offers_task() -> int:
    return expire_offers()


@shared_task
def clear_expired_sessions_task() -> None:
    """Delete expired sessions. A patient's session holds their booking draft (a birth
    date, safety answers) and ends an hour after their last step; an expired session is
    never read, and this takes it out of the database too."""
    call_command("clearsessions")
