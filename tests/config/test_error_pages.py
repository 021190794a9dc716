"""Error pages are the site's own (its header, a main landmark, a way back), not Django's
bare ones; under /api/ errors stay JSON. The 500 page renders with no request at all."""

import pytest
from django.template import loader
from django.test import Client
from django.urls import path

from booking.api.errors import server_error
from config.urls import handler400, handler404, handler500  # noqa: F401 - this urlconf's too
from config.urls import urlpatterns as site_urls

pytestmark = pytest.mark.django_db


def broken_view(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("broken/", broken_view),
    path("api/v1/broken/", broken_view),
    *site_urls,
]


def assert_site_page(response, status: int, heading: str) -> None:
    assert response.status_code == status
    page = response.content.decode()
    assert '<header class="site-header">' in page
    assert '<main id="main"' in page
    assert heading in page
    assert 'href="/"' in page


def test_a_missing_page_is_the_sites_404(client):
    assert_site_page(client.get("/no-such-page/"), 404, "We could not find this page")


def test_a_forbidden_page_is_the_sites_403(client, patient_user):
    client.force_login(patient_user)  # an account that is not staff
    assert_site_page(client.get("/desk/"), 403, "You cannot open this page")


def test_a_bad_request_is_the_sites_400(client, receptionist):
    client.force_login(receptionist)
    assert_site_page(client.get("/desk/patients/", {"q": "\x00"}), 400, "could not understand")


@pytest.mark.urls(__name__)
def test_a_server_error_is_the_sites_500_and_names_the_clinic(settings):
    settings.CLINIC_NAME = "Harbour Pain Clinic"
    response = Client(raise_request_exception=False).get("/broken/")
    assert_site_page(response, 500, "Something went wrong on our side")
    assert "Harbour Pain Clinic" in response.content.decode()


@pytest.mark.urls(__name__)
def test_api_errors_stay_json(client, receptionist):
    assert client.get("/api/v1/no-such-thing/").json() == {"detail": "Not found."}
    broken = Client(raise_request_exception=False).get("/api/v1/broken/")
    assert broken.status_code == 500
    assert broken.json() == {"detail": "Server error."}


def test_the_500_page_needs_no_request(rf):
    # What Django's handler does when even the request may be broken: no context processor.
    assert "Something went wrong" in loader.get_template("500.html").render()
    assert server_error(rf.get("/")).status_code == 500
