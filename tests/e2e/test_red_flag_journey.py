"""A red-flag answer: the patient, on a phone, is told to call the clinic now; the
clinician who gave the injection sees the alert on the staff dashboard."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from booking.demo import DEMO_LOCATION_NAME, DEMO_ON_CALL_EMAIL
from booking.models import Clinician, Location
from followup.checkins import check_in_url
from followup.demo import seed_demo_clinic
from followup.models import Alert, CheckInAnswer, Message, MessageKind, SideEffect
from tests.e2e.conftest import next_weekday_morning, screenshot
from tests.e2e.test_staff_pages import DESKTOP, log_in
from tests.factories import PatientFactory, episode_after_procedure

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_fever_on_day_one_tells_the_patient_to_call_and_alerts_the_clinician(
    catalogue, live_server, browser, phone, settings
):
    # 11:00 on a weekday: yesterday's day-1 check-in came due at 10:00 and is open.
    with time_machine.travel(next_weekday_morning(at=time(11)), tick=True):
        settings.SITE_URL = live_server.url
        seed_demo_clinic()
        location = Location.objects.get(name=DEMO_LOCATION_NAME)
        patel = Clinician.objects.get(user__username="clinician")
        # Injected yesterday at 07:00, before the demo calendar's hours, by Dr. Patel: the
        # day-1 check-in is due today and open (answers are taken for days after it is due).
        yesterday = timezone.now().astimezone(location.zone).date() - timedelta(days=1)
        episode = episode_after_procedure(
            site_slug="lumbar",
            patient=PatientFactory(
                first_name="Felix", last_name="Fieberman", consent_email=True, phone=""
            ),
            location=location,
            clinician=patel,
            performed_at=datetime.combine(yesterday, time(7), tzinfo=location.zone),
            pain_before=7,
        )
        assert episode.procedure.performed_by == patel
        check_in = episode.check_ins.get(day=1)

        page = phone
        page.goto(check_in_url(check_in))
        page.get_by_role("heading", name="How is your pain?").wait_for()
        screenshot(page, "50-red-flag-check-in")
        page.get_by_role("radio", name="4", exact=True).check()
        # "None of these" and a sign: the page asks for one or the other, and keeps the ticks.
        page.get_by_role("checkbox", name="None of these").check()
        page.get_by_label(SideEffect.FEVER.label).check()
        page.get_by_role("button", name="Send my answer").click()
        page.get_by_role("alert").filter(has_text="not both").wait_for()
        assert not CheckInAnswer.objects.filter(check_in=check_in).exists()
        page.get_by_role("checkbox", name="None of these").uncheck()
        assert page.get_by_label(SideEffect.FEVER.label).is_checked()
        screenshot(page, "51-red-flag-answered-form")
        page.get_by_role("button", name="Send my answer").click()

        call = page.get_by_role("alert").filter(has_text="Please call the clinic now")
        call.wait_for()
        phone_link = call.get_by_role("link", name=location.phone.as_national)
        assert phone_link.get_attribute("href") == f"tel:{location.phone.as_e164}"
        screenshot(page, "52-red-flag-call-the-clinic")

        answer = CheckInAnswer.objects.get(check_in=check_in)
        assert answer.pain == 4
        assert answer.side_effects == [SideEffect.FEVER.value]
        alert = Alert.objects.get(answer=answer)
        assert alert.clinician == patel
        assert alert.acknowledged_at is None
        # In clinic hours: the clinic's alert address at once, the on-call 30 minutes later.
        told = Message.objects.get(alert=alert, recipient=settings.CLINIC_ALERT_EMAIL)
        on_call = Message.objects.get(alert=alert, recipient=DEMO_ON_CALL_EMAIL)
        assert (told.kind, on_call.kind) == (MessageKind.ALERT, MessageKind.ALERT_ESCALATION)
        assert told.due_at <= timezone.now()
        assert on_call.due_at == told.due_at + timedelta(minutes=30)

        context = browser.new_context(viewport=DESKTOP)
        try:
            desk = context.new_page()
            log_in(desk, live_server, "clinician")
            desk.goto(live_server.url + reverse("followup:dashboard"))
            card = desk.locator("li.card").filter(has_text=str(episode.patient))
            card.wait_for()
            for reason in alert.reasons:
                assert reason in card.inner_text()
            assert "pain 4/10" in card.inner_text()
            assert card.get_by_role("button", name="Acknowledge").is_visible()
            screenshot(desk, "53-red-flag-dashboard-alert")
        finally:
            context.close()
