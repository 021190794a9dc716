"""The pages other than the clinic's own under the Content Security Policy: Swagger UI and
the admin (the CSP hook in conftest.py fails the test on any refused script or style)."""

import pytest

from followup.demo import seed_demo_clinic
from tests.e2e.accessibility import describe, violations
from tests.e2e.test_staff_pages import desktop, log_in  # noqa: F401 - fixture and helper

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_render_every_operation_under_the_policy(catalogue, live_server, desktop):  # noqa: F811
    desktop.goto(f"{live_server.url}/api/docs/")
    operation = desktop.locator(".opblock-summary-path", has_text="/api/v1/auth/token/")
    operation.first.wait_for()
    operation.first.click()
    assert desktop.get_by_role("button", name="Try it out").first.is_visible()


def test_an_admin_opens_the_administration_under_the_policy(catalogue, live_server, desktop):  # noqa: F811
    seed_demo_clinic()
    log_in(desktop, live_server, "admin")
    desktop.goto(f"{live_server.url}/admin/booking/appointment/")
    assert desktop.get_by_role("heading", name="Select appointment to change").is_visible()
    desktop.goto(f"{live_server.url}/admin/booking/location/add/")
    assert desktop.get_by_role("button", name="Save", exact=True).is_visible()


def test_the_api_docs_have_a_language_and_pass_axe(catalogue, live_server, desktop):  # noqa: F811
    desktop.goto(f"{live_server.url}/api/docs/")
    desktop.locator(".opblock-summary-path").first.wait_for()
    assert desktop.locator("html").get_attribute("lang") == "en"
    found = [v for v in violations(desktop) if v["id"] != "nested-interactive"]
    # Swagger UI nests its copy button inside the operation toggle: its own markup, not ours.
    assert not found, describe(found)
