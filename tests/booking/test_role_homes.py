"""Each role lands where it works after logging in, and the staff menu offers each role
only the pages it may open: every link shown answers 200."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.factories import PASSWORD, ClinicianFactory, LocationFactory, UserFactory

pytestmark = pytest.mark.django_db


def log_in(client: Client, user: User, next_url: str | None = None):
    data = {"username": user.username, "password": PASSWORD}
    url = "/accounts/login/" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data)


@pytest.mark.parametrize(
    ("role_user", "home"),
    [("receptionist", "/desk/"), ("clinician_user", "/staff/"), ("clinic_admin", "/desk/")],
)
def test_each_role_lands_where_it_works(client, request, role_user, home):
    response = log_in(client, request.getfixturevalue(role_user))
    assert response.status_code == 302
    assert response["Location"] == home
    assert client.get(response["Location"]).status_code == 200


def test_someone_who_is_not_staff_lands_on_the_home_page(client):
    assert log_in(client, UserFactory(username="pat"))["Location"] == "/"


def test_a_safe_next_is_kept(client, receptionist):
    assert log_in(client, receptionist, "/desk/waitlist/")["Location"] == "/desk/waitlist/"


def test_an_unsafe_next_is_refused(client, clinician_user):
    response = log_in(client, clinician_user, "https://evil.example/")
    assert response["Location"] == "/staff/"


MENU_LINK = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)


def menu_links(client: Client) -> dict[str, str]:
    page = client.get("/").content.decode()
    nav = MENU_LINK.search(page)
    assert nav is not None
    found = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav.group(1))
    return {label: href for href, label in found}


DESK_PAGES = {"Desk", "Day", "Week", "Walk-in", "Waitlist", "Schedules", "Patients"}


@pytest.mark.parametrize(
    ("role_user", "shown", "hidden"),
    [
        ("receptionist", DESK_PAGES, {"Staff", "Outcomes", "Audit log"}),
        ("clinician_user", {"Desk", "Day", "Week", "Patients", "Staff"}, {"Waitlist", "Audit log"}),
        ("clinic_admin", DESK_PAGES | {"Staff", "Outcomes", "Audit log"}, set()),
    ],
)
def test_every_menu_link_a_role_sees_opens(
    client, request, clinician_user, role_user, shown, hidden
):
    # A clinic with a location and a clinician, whose calendars the menu opens.
    LocationFactory(name="Main Street")
    ClinicianFactory(user=clinician_user, display_name="Dr. Maya Patel")
    client.force_login(request.getfixturevalue(role_user))
    links = menu_links(client)
    assert shown <= set(links)
    assert not hidden & set(links)
    for label, url in links.items():
        assert client.get(url, follow=True).status_code == 200, (label, url)


def test_the_menu_marks_the_page_it_is_on(client, receptionist):
    client.force_login(receptionist)
    page = client.get("/desk/waitlist/").content.decode()
    assert '<a href="/desk/waitlist/" aria-current="page">Waitlist</a>' in page


def test_no_menu_for_patients(client):
    assert "/desk/" not in client.get("/").content.decode()
