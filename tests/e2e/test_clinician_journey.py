"""The clinician's journey: Dr. Patel completes an arrived visit with a lumbar injection;
the dispatcher and a real Celery worker (through Redis, on PostgreSQL) send the day-1
check-in by email; the patient opens its link on a phone and answers 4/10 with no side
effects; the clinician sees the answer on the patient's trends and on the dashboard."""

import email
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from django.conf import settings as django_settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from booking.demo import DEMO_LOCATION_NAME
from booking.models import AppointmentStatus, Clinician, Location, Site
from booking.services import mark_arrived
from config.celery import app as celery_app
from followup.checkins import CHECK_IN_SALT, check_in_url
from followup.demo import seed_demo_clinic
from followup.dispatch import dispatch_due_messages
from followup.models import (
    CheckIn,
    CheckInAnswer,
    FollowUpStep,
    Injectate,
    Message,
    MessageKind,
    MessageState,
    Procedure,
)
from followup.tasks import send_message_task
from tests.e2e.conftest import screenshot
from tests.e2e.test_staff_pages import DESKTOP, log_in
from tests.factories import AppointmentFactory, PatientFactory
from tests.workers import celery_worker

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

WORKER_DEADLINE_SECONDS = 30
PATIENT_EMAIL = "clara.kline@example.com"


@pytest.fixture
def desktop(browser) -> Iterator:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def worker(transactional_db, live_server, tmp_path) -> Iterator[SimpleNamespace]:
    """`celery -A config worker` in its own process on the default queue of this run's
    Redis database, sending email to files in tmp_path; always stopped afterwards."""
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    try:
        client.flushdb()  # no task left over from an earlier run in this Redis database
    finally:
        client.close()
    with celery_worker(
        tmp_path, name=f"clinician-journey-{os.getpid()}", SITE_URL=live_server.url
    ) as worker_process:
        yield worker_process


def wait_until_sent(message: Message, worker: SimpleNamespace) -> Path:
    """Poll (bounded) until the worker marked `message` sent and wrote its email file."""
    deadline = time.monotonic() + WORKER_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        message.refresh_from_db()
        files = sorted(worker.email.glob("*.log")) if worker.email.exists() else []
        mine = [path for path in files if str(message.idempotency_key) in path.read_text()]
        if message.state == MessageState.SENT and mine:
            [path] = mine
            return path
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited:\n{worker.log.read_text()}")
        time.sleep(0.2)
    pytest.fail(
        f"message {message.pk} is {message.state} after {WORKER_DEADLINE_SECONDS} s; "
        f"worker log:\n{worker.log.read_text()}"
    )


def email_text(path: Path) -> str:
    """The decoded text/plain body of the email the file backend wrote to `path`."""
    raw = path.read_bytes().split(b"\n" + b"-" * 79)[0]
    message = email.message_from_bytes(raw)
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    pytest.fail(f"no text/plain part in {path}")


def test_a_clinician_records_an_injection_and_sees_the_day_one_answer_the_worker_asked_for(
    catalogue, live_server, worker, browser, desktop, settings, monkeypatch
):
    settings.SITE_URL = live_server.url
    seed_demo_clinic()
    location = Location.objects.get(name=DEMO_LOCATION_NAME)
    lumbar = Site.objects.get(slug="lumbar")
    patel = Clinician.objects.get(user__username="clinician")
    # The day-1 check-in is due the moment the procedure is recorded.
    day_one = FollowUpStep.objects.get(site=lumbar, day=1)
    day_one.minutes_after = 0
    day_one.save(update_fields=["minutes_after"])
    # Dr. Patel's patient, who agreed to email only, arrived for a visit at 06:30 today,
    # before the demo calendar's hours (Dr. Patel's bookings may not overlap).
    today = timezone.now().astimezone(location.zone).date()
    patient = PatientFactory(
        first_name="Clara",
        last_name="Kline",
        email=PATIENT_EMAIL,
        phone="",
        consent_email=True,
        consent_sms=False,
    )
    appointment = AppointmentFactory(
        site=lumbar,
        clinician=patel,
        location=location,
        patient=patient,
        start=datetime.combine(today, clock_time(6, 30), tzinfo=location.zone),
        baseline_pain=7,
    )
    appointment = mark_arrived(appointment=appointment)
    assert appointment.status == AppointmentStatus.ARRIVED

    # The clinician records the injection on the completion page.
    page = desktop
    log_in(page, live_server, "clinician")
    page.goto(live_server.url + reverse("followup:complete", args=[appointment.public_id]))
    page.get_by_role("heading", name=f"Complete the visit of {patient}").wait_for()
    page.get_by_label("Site:", exact=True).select_option("lumbar")
    page.get_by_label("Bilateral", exact=True).check()
    page.get_by_label("Corticosteroid:", exact=True).check()
    page.get_by_label("Dose of corticosteroid").fill("40 mg triamcinolone")
    page.get_by_label("Local anesthetic (lidocaine):", exact=True).check()
    page.get_by_label("Dose of local anesthetic").fill("2 ml of 1 %")
    page.get_by_label("Trigger points injected").fill("2")
    page.locator("[name=pain_before]").fill("7")
    page.locator("[name=notes]").fill("L4-L5 facet joints, fluoroscopy guided.")
    screenshot(page, "60-clinician-completes-the-visit")
    page.get_by_role("button", name="Complete the visit with this procedure").click()
    page.get_by_text("follow-up has started").wait_for()
    page.get_by_role("heading", name="Follow-up check-ins").wait_for()
    screenshot(page, "61-clinician-visit-completed")

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    procedure = Procedure.objects.get(appointment=appointment)
    assert procedure.performed_by == patel
    assert (procedure.site, procedure.side, procedure.trigger_points) == (lumbar, "bilateral", 2)
    assert procedure.pain_before == 7
    assert dict(procedure.injectates.values_list("injectate", "dose")) == {
        Injectate.CORTICOSTEROID: "40 mg triamcinolone",
        Injectate.LOCAL_ANAESTHETIC: "2 ml of 1 %",
    }
    check_in = CheckIn.objects.get(episode__procedure=procedure, day=1)
    assert check_in.due_at == procedure.performed_at
    message = Message.objects.get(check_in=check_in, kind=MessageKind.CHECK_IN)
    assert (message.channel, message.recipient) == ("email", PATIENT_EMAIL)
    assert message.state == MessageState.SCHEDULED
    assert not Message.objects.filter(check_in=check_in, channel="sms").exists()

    # The dispatcher puts the due check-in on the real broker; the worker sends it.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    assert dispatch_due_messages(enqueue=send_message_task.delay) >= 1
    email_file = wait_until_sent(message, worker)
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 1
    written = email_file.read_text()
    assert f"To: {PATIENT_EMAIL}" in written
    links = re.findall(
        re.escape(live_server.url) + r"/check-in/[^\s\"'<>]+", email_text(email_file)
    )
    assert links, f"no check-in link in:\n{email_text(email_file)}"
    link = links[0]
    # A link to this check-in, signed as check_in_url signs it (the timestamp may differ).
    assert link.startswith(check_in_url(check_in).rsplit("/check-in/", 1)[0] + "/check-in/")
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert signing.loads(token, salt=CHECK_IN_SALT) == check_in.pk

    # The patient opens the link on a phone and answers 4/10, none of the warning signs.
    phone_context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    try:
        phone = phone_context.new_page()
        phone.goto(link)
        phone.get_by_role("heading", name="How is your pain?").wait_for()
        screenshot(phone, "62-patient-day-one-check-in")
        phone.get_by_role("radio", name="4", exact=True).check()
        phone.get_by_role("checkbox", name="None of these").check()
        screenshot(phone, "63-patient-answers-four")
        phone.get_by_role("button", name="Send my answer").click()
        phone.get_by_role("heading", name="Thank you for your answer").wait_for()
        assert phone.get_by_role("alert").count() == 0
        assert "4 out of 10" in phone.locator("dl.summary").inner_text()
        screenshot(phone, "64-patient-answer-received")
    finally:
        phone_context.close()

    answer = CheckInAnswer.objects.get(check_in=check_in)
    assert (answer.pain, answer.side_effects) == (4, ["none"])

    # The clinician sees it on the patient's trends and on the dashboard.
    page.goto(live_server.url + reverse("followup:patient_trends", args=[patient.pk]))
    # The chart's line goes from the baseline (day 0, 7) to the answer (day 1, 4)...
    points = page.locator("svg.chart g.point title")
    points.first.wait_for(state="attached")
    assert [text.rsplit(": ", 1)[1] for text in points.all_text_contents()] == [
        "day 0, 7",
        "day 1, 4",
    ]
    # ...and the episode's answers table has the answer.
    answers = page.locator("table").filter(
        has=page.locator("caption", has_text="Every answer of this episode")
    )
    [row] = answers.locator("tbody tr").all()
    cells = row.locator("td")
    assert [cells.nth(index).inner_text() for index in (1, 2, 7, 8, 9)] == [
        "1",
        "4/10",
        "\N{EN DASH}",  # no common effect ticked
        "None of these",
        answer.get_route_display(),
    ]
    screenshot(page, "65-clinician-patient-trend")

    page.goto(live_server.url + reverse("followup:dashboard"))
    recent = page.locator("section[aria-labelledby=answers-title] tbody tr").filter(
        has_text=str(patient)
    )
    recent.first.wait_for()
    assert recent.count() == 1
    cells = recent.locator("td")
    assert cells.nth(3).inner_text() == "1"
    assert cells.nth(4).inner_text() == "4/10 (7)"
    screenshot(page, "66-clinician-dashboard-recent-answer")

    assert worker.process.poll() is None
