"""Staff pages at 1024 px (a small laptop) and on a 768 px tablet: the page never scrolls
sideways (a wide table scrolls inside its own region), figures are right-aligned under
right-aligned headers, and axe finds nothing serious."""

import pytest
import time_machine
from django.contrib.auth.models import User

from booking.demo import DEMO_PASSWORDS
from booking.models import Patient
from followup.demo import seed_demo_clinic
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import ROOT, next_weekday_morning
from tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1024, "height": 768}
TABLET = {"width": 768, "height": 1024}

# How far the page scrolls sideways (0 when it fits), and every figure cell that is not
# right-aligned or whose column header is not (headers are matched by index, so tables with
# a rowspan in the body and rows with a colspan are not matched).
MEASURE = """() => {
  const misaligned = [];
  let figures = 0;
  for (const table of document.querySelectorAll("table.data-table")) {
    const spans = [...table.querySelectorAll("tbody td, tbody th")].some((c) => c.rowSpan > 1);
    const head = table.tHead && !spans ? table.tHead.rows[table.tHead.rows.length - 1] : null;
    for (const cell of table.querySelectorAll("td.num, th.num")) {
      figures += 1;
      if (getComputedStyle(cell).textAlign !== "right") {
        misaligned.push("cell: " + cell.textContent.trim());
        continue;
      }
      const row = cell.parentElement;
      if (!head || row.parentElement === table.tHead) continue;
      if ([...row.cells].some((c) => c.colSpan > 1)) continue;
      const header = head.cells[cell.cellIndex];
      if (header && getComputedStyle(header).textAlign !== "right") {
        misaligned.push(`header: ${header.textContent.trim()} over ${cell.textContent.trim()}`);
      }
    }
  }
  return {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    figures,
    misaligned,
  };
}"""

# Buttons, selects, text inputs and button-like links in the page's main part that are
# shorter than a fingertip (44 px).
SMALL_CONTROLS = """() => [...document.querySelectorAll(
    "main button, main select, main a.button, "
    + "main input:not([type=hidden]):not([type=checkbox]):not([type=radio])"
  )].filter((el) => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
   .map((el) => el.outerHTML.slice(0, 80))"""


def keep(page, name: str) -> None:
    """A picture for whoever checks the layout by eye (test-artifacts/, not the README's)."""
    folder = ROOT / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def log_in(context, live_server, username: str):
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORDS[username])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page


def check(page, url: str, *, figures: bool) -> None:
    page.goto(url)
    found = page.evaluate(MEASURE)
    assert found["overflow"] <= 0, f"{url} scrolls sideways by {found['overflow']} px"
    assert not found["misaligned"], f"{url}: figures not right-aligned: {found['misaligned']}"
    if figures:
        assert found["figures"], f"{url} shows no figure cell"
    assert_accessible(page)


@pytest.fixture
def clinic(catalogue):
    with time_machine.travel(next_weekday_morning(), tick=True):
        seed_demo_clinic()
        patient = Patient.objects.get(first_name="Eleanor", last_name="Whitfield")
        WaitlistEntryFactory(notes="Any morning")
        yield patient


def test_every_staff_list_reads_at_1024_px(clinic, live_server, browser):
    patient = clinic
    patel = User.objects.get(username="clinician").clinician
    base = live_server.url
    context = browser.new_context(viewport=LAPTOP)
    admin = log_in(context, live_server, "admin")
    pages = [
        ("/desk/", True),
        ("/desk/patients/?q=Whitfield", False),
        (f"/desk/patients/{patient.pk}/", True),
        ("/desk/waitlist/", False),
        ("/desk/schedules/", False),
        (f"/desk/schedules/{patel.pk}/", False),
        ("/desk/day/", False),
        ("/staff/", True),
        (f"/staff/patients/{patient.pk}/check-ins/", True),
        ("/staff/outcomes/", True),
        (f"/staff/patients/{patient.pk}/trends/", True),
        (f"/staff/patients/{patient.pk}/sites/lumbar/documentation/", True),
        ("/desk/audit/", False),
    ]
    for path, figures in pages:
        check(admin, base + path, figures=figures)
    context.close()


def test_the_day_view_staff_home_and_check_ins_work_on_a_tablet(clinic, live_server, browser):
    patient = clinic
    base = live_server.url
    reception = log_in(browser.new_context(viewport=TABLET), live_server, "reception")
    check(reception, f"{base}/desk/day/", figures=False)
    assert not reception.evaluate(SMALL_CONTROLS)
    # The grid scrolls inside its own region, keeping the time column in view.
    grid = reception.get_by_role("region", name="Day calendar, clinicians as columns")
    assert grid.evaluate("el => el.scrollHeight > el.clientHeight")
    grid.evaluate("el => el.scrollBy(200, 400)")
    corner = reception.locator("thead th.cal-time")
    assert corner.evaluate(
        """th => {
          const cell = th.getBoundingClientRect();
          const region = th.closest(".cal-scroll").getBoundingClientRect();
          return cell.top >= region.top - 1 && cell.left >= region.left - 1;
        }"""
    )
    keep(reception, "tablet-day-view")

    clinician = log_in(browser.new_context(viewport=TABLET), live_server, "clinician")
    for path in ("/staff/", f"/staff/patients/{patient.pk}/check-ins/"):
        check(clinician, base + path, figures=True)
        assert not clinician.evaluate(SMALL_CONTROLS), path
    keep(clinician, "tablet-check-ins")
