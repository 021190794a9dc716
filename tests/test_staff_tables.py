"""Every staff list is drawn with the one table style (`data-table` in clinic.css), and a
table that may be wider than the screen scrolls inside a labelled, focusable region."""

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from booking.models import Patient
from followup.demo import seed_demo_clinic
from tests.factories import WaitlistEntryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)  # a Tuesday, 10:30 at the clinic
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
# The day and week views' calendar is a grid of times, not a list: it has its own style.
NOT_A_LIST = "cal-grid"


class Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[set[str]] = []
        self.regions: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = set((found.get("class") or "").split())
        if tag == "table":
            self.tables.append(classes)
        elif "table-scroll" in classes or "cal-scroll" in classes:
            self.regions.append(found)


def parse(html: str) -> Tables:
    tables = Tables()
    tables.feed(html)
    return tables


@pytest.fixture
def clinic() -> Patient:
    seed_demo_clinic()
    WaitlistEntryFactory()
    return Patient.objects.get(first_name="Eleanor", last_name="Whitfield")


def test_every_staff_page_draws_its_tables_in_the_shared_style(client, clinic):
    patient = clinic
    clinician = User.objects.get(username="clinician").clinician
    client.force_login(User.objects.get(username="admin"))
    pages = [
        "/desk/",
        "/desk/patients/?q=Whitfield",
        f"/desk/patients/{patient.pk}/",
        "/desk/waitlist/",
        "/desk/schedules/",
        f"/desk/schedules/{clinician.pk}/",
        "/desk/day/",
        "/desk/day/print/",
        "/staff/",
        f"/staff/patients/{patient.pk}/check-ins/",
        "/staff/outcomes/",
        f"/staff/patients/{patient.pk}/trends/",
        f"/staff/patients/{patient.pk}/sites/lumbar/documentation/",
        "/desk/audit/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        found = parse(response.content.decode())
        assert found.tables, f"{url} shows no table"
        for classes in found.tables:
            assert "data-table" in classes or NOT_A_LIST in classes, (url, classes)
        for region in found.regions:
            assert region.get("role") == "region", (url, region)
            assert region.get("aria-label"), (url, region)
            assert region.get("tabindex") == "0", (url, region)


def test_no_staff_template_draws_a_table_of_its_own():
    """The templates no page above reaches (merge, complete, given details) too."""
    for folder in ("booking/desk", "followup"):
        for template in (TEMPLATES / folder).rglob("*.html"):
            for tag in re.findall(r"<table\b[^>]*>", template.read_text()):
                assert "data-table" in tag or NOT_A_LIST in tag, (template.name, tag)


def test_the_one_off_table_styles_are_gone():
    css = (Path(__file__).resolve().parents[1] / "static" / "css" / "clinic.css").read_text()
    assert ".data-table .num" in css
    assert ".sheet-table" not in css
