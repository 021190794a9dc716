"""A clinician prepares a repeat-injection request: from the patient's trend page to the
printable documentation of the lumbar injections, read on screen and in print."""

from datetime import timedelta

import pytest

from booking.formats import short_day
from booking.models import Patient
from followup.demo import seed_demo_clinic
from followup.models import Procedure
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import screenshot
from tests.e2e.test_staff_pages import DESKTOP, log_in

pytestmark = pytest.mark.django_db(transaction=True)

LETTER_WIDTH = 816  # 8.5 in at 96 CSS pixels an inch


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


def test_a_clinician_opens_the_payer_documentation_from_the_trend_page(
    catalogue, live_server, desktop
):
    seed_demo_clinic()
    patient = Patient.objects.get(first_name="Eleanor", last_name="Whitfield")
    last = Procedure.objects.filter(appointment__patient=patient, site__slug="lumbar").latest(
        "performed_at"
    )
    injected_on = last.performed_at.astimezone(last.appointment.location.zone).date()
    page = desktop
    log_in(page, live_server, "clinician")
    page.goto(f"{live_server.url}/staff/patients/{patient.pk}/trends/")
    page.get_by_role("link", name="Documentation for a repeat-injection request: Lumbar").click()
    page.get_by_role(
        "heading", name="Documentation for a repeat-injection request: Lumbar"
    ).wait_for()

    # The demo's last lumbar injection: baseline 8, then 6, 5, 4, 3, 3, 4 at days 1 to 42.
    # Relief = (8 - score) / 8: 25 %, 37.5 %, 50 %, 62.5 %, 62.5 %, 50 %. Each answer came
    # three hours after its 10:00 check-in, on the location's day of the check-in.
    assert f"Baseline: 8/10 on the NRS 0-10, measured {short_day(injected_on)}" in (
        page.locator("main").inner_text()
    )
    measurements = page.locator("table").filter(
        has=page.locator("caption", has_text="Measurements after the injection")
    )
    rows = [
        [cell.inner_text() for cell in row.locator("td").all()]
        for row in measurements.locator("tbody tr").all()
    ]
    assert rows == [
        [short_day(injected_on + timedelta(days=day)), str(day), "NRS 0-10", f"{pain}/10", relief]
        for day, pain, relief in (
            (1, 6, "25 %"),
            (3, 5, "37.5 %"),
            (7, 4, "50 %"),
            (14, 3, "62.5 %"),
            (30, 3, "62.5 %"),
            (42, 4, "50 %"),
        )
    ]
    # Injections 372, 218 and 64 days ago: the last two fall in the 12 months.
    sessions = page.locator("table").filter(
        has=page.locator("caption", has_text="Injections at the Lumbar site")
    )
    assert sessions.locator("tbody tr").count() == 2
    assert page.get_by_role("button", name="Print").is_visible()  # the script ran
    assert_accessible(page)

    page.emulate_media(media="print")
    assert page.locator("header.site-header").is_hidden()
    assert page.get_by_role("navigation", name="Main").is_hidden()
    assert page.get_by_role("button", name="Print").is_hidden()
    assert page.get_by_role("link", name="← Pain trends of Eleanor Whitfield").is_hidden()
    assert page.get_by_text("Clinician's signature").is_visible()
    page.set_viewport_size({"width": LETTER_WIDTH, "height": 1056})
    screenshot(page, "35-payer-documentation")
