"""US conventions: accent-blind search, US birth dates, zones as said, 12-hour times."""

import datetime as dt

import pytest

from booking.formats import clock, long_day, zone_name
from booking.models import Patient
from booking.patients import search_patients
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_chloe_finds_chloe_with_a_diaeresis_and_us_dates_find_the_birth_date():
    born = dt.date(1940, 9, 9)
    chloe = PatientFactory(first_name="Chloë", last_name="Brontë", date_of_birth=born)
    PatientFactory(first_name="Zoe", last_name="Smith", date_of_birth=dt.date(1950, 1, 1))
    everyone = Patient.objects.all()
    assert list(search_patients(everyone, "Chloe")) == [chloe]
    assert list(search_patients(everyone, "chloe bronte")) == [chloe]
    assert list(search_patients(everyone, "Chloë")) == [chloe]
    assert list(search_patients(everyone, "9/9/1940")) == [chloe]
    assert list(search_patients(everyone, "09/09/1940")) == [chloe]
    assert list(search_patients(everyone, "1940-09-09")) == [chloe]


def test_time_zones_and_times_read_as_people_say_them():
    assert zone_name("America/New_York") == "Eastern Time"
    assert zone_name("America/Los_Angeles") == "Pacific Time"
    assert clock(dt.time(14, 5)) == "2:05 PM"
    assert clock(dt.time(0, 30)) == "12:30 AM"
    assert long_day(dt.date(2026, 12, 2)) == "Wednesday, December 2, 2026"


def test_injectate_label_uses_us_spelling():
    from followup.models import Injectate

    assert Injectate("local_anaesthetic").label == "Local anesthetic (lidocaine)"


def test_the_home_page_says_an_intra_articular_consult(client):
    from tests.factories import SiteFactory

    SiteFactory(name="Intra-articular", slug="intra-articular")
    page = client.get("/").content.decode()
    assert "Book an intra-articular consult" in page
    assert "Book a intra-articular" not in page


def test_a_visit_completed_before_its_end_is_not_upcoming_on_the_record(client, clinic_admin):
    import time_machine

    from booking.models import AppointmentStatus
    from tests.factories import AppointmentFactory

    start = dt.datetime(2026, 6, 3, 14, tzinfo=dt.UTC)
    done = AppointmentFactory(start=start, status=AppointmentStatus.COMPLETED)
    AppointmentFactory(patient=done.patient, start=start + dt.timedelta(days=7))
    client.force_login(clinic_admin)
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=False):
        page = client.get(f"/desk/patients/{done.patient.pk}/").content.decode()
    upcoming, past = page.split('id="upcoming-title"')[1].split("<h2", 1)
    assert "Jun 10, 2026" in upcoming
    assert "Jun 3, 2026" not in upcoming
    assert "Jun 3, 2026" in past


def test_the_trend_page_gives_its_time_in_the_clinics_zone(client, clinic_admin):
    import time_machine

    patient = PatientFactory()
    client.force_login(clinic_admin)
    with time_machine.travel(dt.datetime(2026, 12, 4, 16, 5, tzinfo=dt.UTC), tick=False):
        page = client.get(f"/staff/patients/{patient.pk}/trends/").content.decode()
    assert "figures as of Dec 4, 2026, 11:05 AM EST" in page
    assert "UTC" not in page


def test_the_birth_date_hint_matches_the_us_date_field():
    from booking.forms import PatientDetailsForm

    form = PatientDetailsForm()
    assert form.fields["date_of_birth"].help_text == "Month, day, year: for example 04/12/1971."
    form = PatientDetailsForm(data={"date_of_birth": "04/12/1971"})
    form.is_valid()
    assert form.cleaned_data["date_of_birth"] == dt.date(1971, 4, 12)
