"""The patient's check-in page, reached from the link in every check-in message.

GET shows the questions or, once answered, the answer (changeable for a day, then locked).
POST records the answer with `followup.checkins.record_answer` and redirects back to the
page, which thanks the patient and, if a red flag fired, tells them to call the clinic now.
A tampered, foreign, unknown, cancelled or expired link gets the same page as a bad manage
link, which names no one.
"""

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from followup.checkins import (
    CheckInClosed,
    CheckInLocked,
    CheckInStatus,
    answer_of,
    answer_red_flags,
    can_change_until,
    check_in_from_token,
    check_in_status,
    previous_pain,
    record_answer,
)
from followup.forms import PAIN_ANCHORS, PAIN_MAX, PAIN_MIN, CheckInForm
from followup.models import AnswerRoute, CheckIn, CheckInAnswer
from followup.side_effects import expected_effect_labels, warning_sign_labels


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "booking/link_invalid.html", status=404)


def _context(check_in: CheckIn) -> dict:
    location = check_in.episode.procedure.appointment.location
    return {
        "check_in": check_in,
        "location": location,
        "injected_on": check_in.episode.started_at.astimezone(location.zone),
    }


def _form_page(
    request: HttpRequest,
    check_in: CheckIn,
    form: CheckInForm,
    *,
    answer: CheckInAnswer | None,
    status: int = 200,
) -> HttpResponse:
    zone = check_in.episode.procedure.appointment.location.zone
    context = _context(check_in) | {
        "form": form,
        "forms": [form],
        "previous_pain": previous_pain(check_in),
        "anchor_low": PAIN_ANCHORS[PAIN_MIN],
        "anchor_high": PAIN_ANCHORS[PAIN_MAX],
        "change_until": can_change_until(answer).astimezone(zone) if answer else None,
    }
    return render(request, "followup/check_in.html", context, status=status)


def _answered_page(
    request: HttpRequest,
    check_in: CheckIn,
    answer: CheckInAnswer,
    now: datetime,
    *,
    status: int = 200,
    refused: bool = False,
) -> HttpResponse:
    zone = check_in.episode.procedure.appointment.location.zone
    locked = check_in_status(check_in, now=now) == CheckInStatus.LOCKED
    context = _context(check_in) | {
        "answer": answer,
        "red_flags": answer_red_flags(answer),
        "side_effects": expected_effect_labels(answer.side_effects),
        "warning_signs": warning_sign_labels(answer.side_effects),
        "locked": locked,
        "refused": refused,
        "change_until": can_change_until(answer).astimezone(zone),
    }
    return render(request, "followup/check_in_answered.html", context, status=status)


@require_http_methods(["GET", "POST"])
def check_in(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    check_in, _problem = check_in_from_token(token, now=now)
    if check_in is None:
        return _invalid_link(request)
    status = check_in_status(check_in, now=now)
    answer = answer_of(check_in)
    if request.method == "POST":
        if status == CheckInStatus.LOCKED and answer is not None:
            return _answered_page(request, check_in, answer, now, status=409, refused=True)
        form = CheckInForm(request.POST)
        if not form.is_valid():
            return _form_page(request, check_in, form, answer=answer, status=400)
        try:
            record_answer(check_in=check_in, answer=form.details(), route=AnswerRoute.WEB, now=now)
        except CheckInClosed:
            return _invalid_link(request)
        except CheckInLocked:  # locked between reading the page's state and writing
            locked = CheckInAnswer.objects.get(check_in=check_in)
            return _answered_page(request, check_in, locked, now, status=409, refused=True)
        return redirect("followup:check_in", token)
    if answer is not None and not (status == CheckInStatus.CHANGEABLE and "change" in request.GET):
        return _answered_page(request, check_in, answer, now)
    initial = CheckInForm.initial_from(answer) if answer is not None else None
    return _form_page(request, check_in, CheckInForm(initial=initial), answer=answer)
