"""What a message says: its template rendered with the minimum necessary.

Only first name, clinic name, date, time and a link ever reach a template, so no
message can carry the site, the injectate or a pain score, whatever an admin writes.
"""

from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.template import Context, Template
from django.urls import reverse

from booking.notifications import absolute_url, manage_url
from followup.channels import OutboundMessage
from followup.checkins import check_in_url
from followup.models import Channel, Message, MessageKind, MessageTemplate

SMS_OPT_OUT = "Reply STOP to opt out."
UNSUBSCRIBE_SALT = "followup.unsubscribe.email"


def sms_body(text: str) -> str:
    """A text as it goes out: every one ends with the opt-out wording."""
    return f"{text} {SMS_OPT_OUT}"


def unsubscribe_token(patient_id: int) -> str:
    return signing.dumps(patient_id, salt=UNSUBSCRIBE_SALT)


def patient_for_unsubscribe_token(token: str) -> int | None:
    try:
        return int(signing.loads(token, salt=UNSUBSCRIBE_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def message_context(message: Message) -> dict[str, str]:
    """The only values a template sees. A check-in's link is its answer page."""
    appointment = message.visit
    local = appointment.local_start
    return {
        "first_name": message.addressee.first_name,
        "clinic_name": settings.CLINIC_NAME,
        "date": f"{local:%A} {local.day} {local:%B}",
        "time": f"{local:%I:%M %p %Z}".lstrip("0"),
        "link": check_in_url(message.check_in) if message.check_in else manage_url(appointment),
    }


def _wording(message: Message) -> tuple[str, str]:
    """(subject, body) for the message's kind and channel; a check-in sent again says what
    the check-in said."""
    kind = MessageKind.CHECK_IN if message.kind == MessageKind.CHECK_IN_RESENT else message.kind
    template = MessageTemplate.objects.get(kind=kind, channel=message.channel)
    return template.subject, template.body


@lru_cache(maxsize=64)
def _compiled(text: str) -> Template:
    """Templates compiled once per process; keyed by their text, so an edit is a new entry."""
    return Template(text)


def _render(text: str, context: dict[str, str]) -> str:
    return _compiled(text).render(Context(context, autoescape=False)).strip()


def render_message(message: Message) -> OutboundMessage:
    """The text to send for `message`, with the channel's opt-out wording."""
    subject, template = _wording(message)
    context = message_context(message)
    body = _render(template, context)
    key = str(message.idempotency_key)
    if message.channel == Channel.SMS:
        return OutboundMessage(
            recipient=message.recipient, body=sms_body(body), idempotency_key=key
        )
    unsubscribe = absolute_url(
        reverse("followup:unsubscribe", args=[unsubscribe_token(message.addressee.pk)])
    )
    return OutboundMessage(
        recipient=message.recipient,
        subject=_render(subject, context),
        body=f"{body}\n\nTo stop these emails: {unsubscribe}",
        idempotency_key=key,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def render_text(message: Message, *, subject: str, body: str) -> OutboundMessage:
    """A message whose words its kind wrote: texts to patients end with the opt-out
    wording (staff receive alerts by their role, not by a consent a STOP withdraws)."""
    key = str(message.idempotency_key)
    if message.channel == Channel.SMS:
        text = sms_body(body) if message.patient_id is not None else body
        return OutboundMessage(recipient=message.recipient, body=text, idempotency_key=key)
    return OutboundMessage(
        recipient=message.recipient, subject=subject, body=body, idempotency_key=key
    )
