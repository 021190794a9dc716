"""What booking announces, for the apps built on it to act on.

followup builds on booking, and booking never imports followup (a lint contract checks
it). The messages a change causes (reminders, the patient's confirmation email, waitlist
offers) are followup's outbox rows, so booking says what changed and followup's receivers
(`followup/visit_messages.py`, connected in `FollowupConfig.ready`) plan the rows. A
signal runs its receivers at once, inside the sender's transaction: the rows exist
exactly when the change does, and a change that rolls back leaves none.
"""

from enum import StrEnum

from django.dispatch import Signal


class AppointmentChange(StrEnum):
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    # The patient's contact details or consents changed: the plan follows the channels.
    CONTACTS_CHANGED = "contacts_changed"


# Sent with appointment=, change= (AppointmentChange) and now=.
appointment_changed = Signal()
# Sent with offers= (new WaitlistOffer rows, each to be sent to its patient) and now=.
waitlist_offers_made = Signal()
# Sent with offers= (offers whose time another patient took) and now=.
waitlist_offers_gone = Signal()
