import pytest

pytestmark = pytest.mark.django_db


def test_the_home_page_lists_the_sites_with_a_skip_link_and_viewport(client):
    page = client.get("/").content.decode()
    assert '<a class="skip-link" href="#main">' in page
    assert 'name="viewport"' in page
    assert "Cervical trigger point" in page
    assert "Staff login" in page


def test_staff_see_the_staff_navigation(client, receptionist):
    client.force_login(receptionist)
    page = client.get("/").content.decode()
    assert "Administration" in page
    assert "Log out rita" in page


def test_someone_who_is_not_staff_sees_no_staff_navigation(client, patient_user):
    client.force_login(patient_user)
    assert "Administration" not in client.get("/").content.decode()


def test_the_api_docs_and_schema_are_served(client):
    assert client.get("/api/docs/").status_code == 200
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content
