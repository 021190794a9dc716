"""Repeat-injection limits per site: the policy clinic admins edit on the site's admin page,
the verdicts and the patient page that follow it, and the values the database refuses."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.test import Client

from booking.models import Site
from followup.eligibility import ELIGIBLE, NOT_YET, Rules, eligibility_by_site, rules_by_site
from followup.models import EligibilityPolicy
from followup.trends import patient_trends
from tests.admin_forms import site_change_form
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    SiteFactory,
    answer_check_in,
    episode_after_procedure,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)
DEFAULTS = Rules(min_weeks=6, max_per_year=3, relief_percent=50, relief_weeks=6)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_site_starts_with_the_former_limits():
    sites = list(Site.objects.values_list("pk", flat=True))
    assert len(sites) == 5
    assert rules_by_site(sites) == dict.fromkeys(sites, DEFAULTS)


def test_a_site_created_outside_the_admin_is_judged_by_the_default_limits():
    site = SiteFactory(slug="sacroiliac", name="Sacroiliac")
    assert rules_by_site([site.pk]) == {site.pk: DEFAULTS}


@pytest.fixture
def lasting_relief_ten_weeks_ago(clinician_user):
    """A lumbar injection ten weeks ago, baseline 8, relief >= 50 % to day 42."""
    episode = episode_after_procedure(
        patient=PatientFactory(),
        clinician=ClinicianFactory(user=clinician_user),
        performed_at=NOW - timedelta(weeks=10),
        pain_before=8,
    )
    for day, pain in {7: 4, 14: 3, 30: 3, 42: 4}.items():
        answer_check_in(episode, day, pain)
    return episode


def lumbar_verdict(patient):
    [lumbar] = eligibility_by_site(patient_trends(patient), now=NOW)
    return lumbar.result


def test_the_verdict_follows_an_edited_policy(lasting_relief_ten_weeks_ago, clinician_user):
    patient = lasting_relief_ten_weeks_ago.patient
    assert lumbar_verdict(patient).verdict == ELIGIBLE

    EligibilityPolicy.objects.filter(site__slug="lumbar").update(min_weeks=12)
    result = lumbar_verdict(patient)
    assert result.verdict == NOT_YET
    assert result.next_date == (NOW + timedelta(weeks=2)).date()
    page = client_for(clinician_user).get(f"/staff/patients/{patient.pk}/trends/")
    assert "at least 12 weeks since the last injection" in page.content.decode()

    # Relief now has to reach 60 % and last 8 weeks: day 42 at 50 % no longer shows it.
    EligibilityPolicy.objects.filter(site__slug="lumbar").update(
        min_weeks=6, relief_percent=60, relief_weeks=8
    )
    result = lumbar_verdict(patient)
    assert not result.relief_ok
    assert (
        "≥ 60 % relief lasting ≥ 8 weeks"
        in client_for(clinician_user).get(f"/staff/patients/{patient.pk}/trends/").content.decode()
    )


def test_other_sites_keep_their_own_limits(lasting_relief_ten_weeks_ago):
    EligibilityPolicy.objects.filter(site__slug="cervical-trigger-point").update(min_weeks=12)
    assert lumbar_verdict(lasting_relief_ten_weeks_ago.patient).verdict == ELIGIBLE


# --- the admin ---------------------------------------------------------------------------


def site_form(site: Site, **policy: object) -> dict[str, object]:
    """The site's admin form as its page posts it, plans untouched, limits as given."""
    current = EligibilityPolicy.objects.filter(site=site).first() if site.pk else None
    return site_change_form(
        site,
        eligibility_policy=[{"id": current.pk if current else "", "site": site.pk or "", **policy}],
    )


LIMITS = {"min_weeks": 8, "max_per_year": 2, "relief_percent": 60, "relief_weeks": 12}


def change_url(site: Site) -> str:
    return f"/admin/booking/site/{site.pk}/change/"


def test_a_clinic_admin_edits_a_sites_limits_on_its_page(clinic_admin):
    site = Site.objects.get(slug="cervical-trigger-point")
    client = client_for(clinic_admin)
    assert 'name="eligibility_policy-0-min_weeks"' in client.get(change_url(site)).content.decode()
    response = client.post(change_url(site), site_form(site, **LIMITS))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert rules_by_site([site.pk])[site.pk] == Rules(**LIMITS)
    lumbar = Site.objects.get(slug="lumbar").pk
    assert rules_by_site([lumbar]) == {lumbar: DEFAULTS}  # other sites keep theirs


def test_reception_may_neither_see_nor_change_the_limits(receptionist):
    site = Site.objects.get(slug="cervical-trigger-point")
    client = client_for(receptionist)
    page = client.get(change_url(site))
    assert page.status_code == 200  # the site itself, read-only
    assert "eligibility_policy" not in page.content.decode()
    assert client.post(change_url(site), site_form(site, **LIMITS)).status_code == 403
    assert rules_by_site([site.pk])[site.pk] == DEFAULTS


def test_a_site_added_in_the_admin_gets_the_default_limits(clinic_admin):
    new = Site(name="Sacroiliac", duration_minutes=30, description="SI joint", instructions="-")
    defaults = {field: getattr(EligibilityPolicy(), field) for field in LIMITS}
    response = client_for(clinic_admin).post("/admin/booking/site/add/", site_form(new, **defaults))
    assert response.status_code == 302, response.content.decode()[:2000]
    site = Site.objects.get(name="Sacroiliac")
    assert EligibilityPolicy.objects.filter(site=site).exists()
    assert rules_by_site([site.pk])[site.pk] == DEFAULTS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_weeks", 0),
        ("max_per_year", 0),
        ("relief_percent", 0),
        ("relief_percent", 101),
        ("relief_weeks", 0),
    ],
)
def test_the_form_refuses_a_bad_limit_and_saves_nothing(clinic_admin, field, value):
    site = Site.objects.get(slug="cervical-trigger-point")
    response = client_for(clinic_admin).post(
        change_url(site), site_form(site, **(LIMITS | {field: value}))
    )
    assert response.status_code == 200
    assert response.context["errors"]
    assert rules_by_site([site.pk])[site.pk] == DEFAULTS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_weeks", 0),
        ("max_per_year", 0),
        ("relief_percent", 0),
        ("relief_percent", 101),
        ("relief_weeks", 0),
    ],
)
def test_the_database_refuses_a_bad_limit(field, value):
    policy = EligibilityPolicy.objects.get(site__slug="thoracic")
    with pytest.raises(IntegrityError), transaction.atomic():
        EligibilityPolicy.objects.filter(pk=policy.pk).update(**{field: value})
    policy.refresh_from_db()
    assert Rules.of(policy) == DEFAULTS
