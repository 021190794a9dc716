"""A patient books a lumbar consult with the keyboard alone: Tab, Enter, Space, arrows, typing.

No clicks: every step moves the focus with Tab and acts on the focused element."""

import pytest

from booking.models import Appointment
from followup.demo import seed_demo_clinic
from tests.e2e.conftest import PHONE, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

MAX_TABS = 250

SAFETY_ANSWERS = {
    "takes_blood_thinners": "False",
    "allergy_local_anaesthetic": "False",
    "allergy_steroid": "False",
    "allergy_latex": "False",
    "allergy_iodine": "False",
    "pregnancy": "not_applicable",
    "diabetes": "False",
    "infection_or_fever": "False",
    "recent_steroid_injection": "False",
    "has_driver": "True",
}


@pytest.fixture
def keyboard_phone(browser):
    """A phone-sized page in a US English locale (the date field's keys depend on it)."""
    context = browser.new_context(viewport=PHONE, locale="en-US", timezone_id="America/New_York")
    page = context.new_page()
    yield page
    context.close()


def focused_matches(page, selector: str) -> bool:
    return page.evaluate("s => document.activeElement?.matches(s) ?? false", selector)


def tab_to(page, selector: str) -> None:
    """Press Tab until the focused element matches `selector`."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if focused_matches(page, selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def choose_radio(page, name: str, value: str) -> None:
    """Tab into a radio group, then arrow to the answer (arrows select as they move)."""
    tab_to(page, f"input[type='radio'][name='{name}']")
    for _ in range(10):
        if focused_matches(page, f"input[name='{name}'][value='{value}']"):
            break
        page.keyboard.press("ArrowDown")
    else:
        raise AssertionError(f"no {value!r} answer in the radio group {name}")
    page.keyboard.press("Space")  # selects it, whether arrows did already or not
    assert page.locator(f"input[name='{name}'][value='{value}']").is_checked()


def focus_outline(page) -> dict:
    return page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return {style: style.outlineStyle, width: style.outlineWidth,
                    color: style.outlineColor};
        }"""
    )


def test_a_patient_books_a_lumbar_consult_with_the_keyboard_alone(
    catalogue, live_server, keyboard_phone, settings
):
    settings.SITE_URL = live_server.url
    seed_demo_clinic()
    page = keyboard_phone

    page.goto(live_server.url)
    # The first Tab reaches the skip link.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"

    tab_to(page, "a[aria-label='Book a lumbar consult']")
    # The focused link shows the clinic's focus ring (:focus-visible), not the browser's.
    outline = focus_outline(page)
    assert outline["style"] == "solid", outline
    assert outline["width"] == "3px", outline
    assert outline["color"] == "rgb(244, 180, 0)", outline
    page.keyboard.press("Enter")

    page.wait_for_selector("a.time")
    tab_to(page, "a.time")
    assert focus_outline(page)["style"] == "solid"
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Your details").wait_for()
    tab_to(page, "input[name='patient-first_name']")
    page.keyboard.type("Zoë")
    page.keyboard.press("Tab")
    assert focused_matches(page, "input[name='patient-last_name']")
    page.keyboard.type("O'Brien-Núñez")
    page.keyboard.press("Tab")
    assert focused_matches(page, "input[name='patient-date_of_birth']")
    page.keyboard.type("04121971")  # month, day, year in an en-US date field
    assert page.locator("input[name='patient-date_of_birth']").input_value() == "1971-04-12"
    tab_to(page, "input[name='patient-email']")
    page.keyboard.type("zoe@example.org")
    tab_to(page, "input[name='patient-phone']")
    page.keyboard.type("(860) 555-0199")
    tab_to(page, "select[name='patient-baseline_pain']")
    page.keyboard.type("6")
    assert page.locator("select[name='patient-baseline_pain']").input_value() == "6"
    tab_to(page, "input[name='patient-reminders_email']")
    page.keyboard.press("Space")
    assert page.locator("input[name='patient-reminders_email']").is_checked()
    for question, answer in SAFETY_ANSWERS.items():
        choose_radio(page, f"safety-{question}", answer)
    tab_to(page, "button[type='submit']")
    assert page.evaluate("document.activeElement.textContent") == "Continue to review"
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Check and confirm").wait_for()
    tab_to(page, "button[type='submit']")
    assert page.evaluate("document.activeElement.textContent") == "Confirm booking"
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="You're booked").wait_for()
    screenshot(page, "40-booked-with-the-keyboard")
    appointment = Appointment.objects.get(patient__last_name="O'Brien-Núñez")
    assert appointment.site.slug == "lumbar"
    assert appointment.patient.consent_email
    assert appointment.baseline_pain == 6
    assert appointment.safety_answers.has_driver is True
    assert appointment.safety_answers.pregnancy == "not_applicable"
