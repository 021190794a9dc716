"""The inbound SMS webhook Twilio calls: check the signature, hand over, answer in TwiML."""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from booking.notifications import absolute_url
from followup.inbound import handle_inbound_sms

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
SID_MAX_LENGTH = 64  # InboundSms.provider_sid; Twilio's are 34 characters


def signed_by_twilio(request: HttpRequest) -> bool:
    """Whether Twilio signed this request with our auth token.

    Twilio signs the URL it called, which behind a proxy is the public one (SITE_URL),
    not the host and scheme this process sees. Without a token nothing is accepted.
    """
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not token or not signature:
        return False
    url = absolute_url(request.get_full_path())
    return RequestValidator(token).validate(url, request.POST, signature)


@csrf_exempt  # Twilio posts without a session; the signature is the check
@require_POST
def inbound_sms(request: HttpRequest) -> HttpResponse:
    if not signed_by_twilio(request):
        logger.warning("inbound SMS refused: missing or invalid %s", SIGNATURE_HEADER)
        return HttpResponseForbidden("Invalid signature.", content_type="text/plain")
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    if not sid or len(sid) > SID_MAX_LENGTH:
        return HttpResponseBadRequest(
            "MessageSid is missing or malformed.", content_type="text/plain"
        )
    reply = handle_inbound_sms(
        sid=sid,
        from_number=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        now=timezone.now(),
    )
    twiml = MessagingResponse()
    if reply:
        twiml.message(reply)
    return HttpResponse(str(twiml), content_type="text/xml")
