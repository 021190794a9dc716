import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from booking.roles import CLINIC_ADMIN, CLINICIAN, RECEPTION, has_role
from tests.factories import PASSWORD

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def api():
    return APIClient()


def _codenames(role: str) -> set[str]:
    return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


@pytest.mark.django_db
def test_the_three_staff_roles_exist_after_migrate_with_their_permissions():
    assert "change_workinghours" in _codenames(RECEPTION)
    assert "change_site" not in _codenames(RECEPTION)
    assert "view_workinghours" in _codenames(CLINICIAN)
    assert "change_workinghours" not in _codenames(CLINICIAN)
    assert {"change_site", "add_location", "change_user"} <= _codenames(CLINIC_ADMIN)


def test_has_role_knows_staff_from_others(receptionist, clinician_user, patient_user):
    assert has_role(receptionist, RECEPTION)
    assert not has_role(receptionist, CLINICIAN)
    assert has_role(clinician_user, CLINICIAN, CLINIC_ADMIN)
    assert not has_role(patient_user, RECEPTION, CLINICIAN, CLINIC_ADMIN)


def test_it_gives_staff_a_token(api, receptionist):
    response = api.post(TOKEN_URL, {"username": "rita", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=receptionist).key}


def test_the_token_authenticates_api_calls(api, receptionist):
    key = api.post(TOKEN_URL, {"username": "rita", "password": PASSWORD}, format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key['token']}")
    assert api.get("/api/schema/").status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "rita", "password": "wrong password"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "rita"},
        {},
    ],
)
def test_it_answers_400_to_bad_credentials(api, receptionist, payload):
    response = api.post(TOKEN_URL, payload, format="json")
    assert response.status_code == 400
    assert not Token.objects.exists()


def test_it_refuses_a_token_to_someone_who_is_not_staff(api, patient_user):
    response = api.post(TOKEN_URL, {"username": "pat", "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["non_field_errors"] == ["Unable to log in with these credentials."]
    assert not Token.objects.exists()


def test_it_throttles_repeated_attempts(api, receptionist, monkeypatch):
    # DRF reads the rates when the throttle class is defined, so patch them there.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    statuses = [
        api.post(TOKEN_URL, {"username": "x", "password": "y"}, format="json").status_code
        for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 429]


def test_the_login_page_locks_out_after_repeated_failures(client, receptionist, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": "rita", "password": "nope"})
    response = client.post("/accounts/login/", {"username": "rita", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
