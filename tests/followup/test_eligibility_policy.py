"""Repeat-injection limits per site: the policy clinic admins edit on the site's admin page,
the verdicts and the patient page that follow it, and the values the database refuses."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from booking.models import AppointmentStatus, Site
from followup.eligibility import (
    ELIGIBLE,
    NOT_YET,
    WAITING,
    Rules,
    eligibility_by_site,
    rules_by_site,
)
from followup.models import EligibilityPolicy
from followup.procedures import InjectateDetails, ProcedureDetails, complete_visit
from followup.trends import patient_figures
from tests.admin_forms import site_change_form
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    SiteFactory,
    answer_check_in,
    episode_after_procedure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)
DEFAULTS = Rules(min_weeks=6, max_per_year=3, relief_percent=50, relief_weeks=6)


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
    [lumbar] = eligibility_by_site(patient_figures(patient), now=NOW)
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


# --- the verdict from the stored check-ins, in the location's dates ------------------------

# 10:00 on Dec 1, 2026 in New York. Day 42 is Jan 12, 2027 (Dec 1 + 30 = Dec 31, + 12): its
# check-in is due at 10:00 EST, expires 72 hours later and takes a late answer for 72 more,
# until Jan 18, 2027 at 10:00 EST.
DEC_1 = datetime(2026, 12, 1, 15, tzinfo=UTC)
DAY_43_NOON = datetime(2027, 1, 13, 17, tzinfo=UTC)


@pytest.fixture
def relief_through_day_30(clinician_user):
    episode = episode_after_procedure(
        patient=PatientFactory(),
        clinician=ClinicianFactory(user=clinician_user),
        performed_at=DEC_1,
        pain_before=8,
    )
    for day, pain in {7: 4, 14: 3, 30: 3}.items():  # 50 %, 62.5 %, 62.5 %
        answer_check_in(episode, day, pain)
    return episode


def test_the_verdict_waits_for_the_open_day_42_answer(relief_through_day_30, clinician_user, clock):
    patient = relief_through_day_30.patient
    clock.move_to(DAY_43_NOON)
    [lumbar] = eligibility_by_site(patient_figures(patient), now=DAY_43_NOON)
    assert lumbar.result.verdict == WAITING
    assert lumbar.result.headline == "waiting for the day-42 answer (until Jan 18, 2027)"
    page = client_for(clinician_user).get(f"/staff/patients/{patient.pk}/trends/")
    assert "Waiting for the day-42 answer (until Jan 18, 2027)" in page.content.decode()

    answer_check_in(relief_through_day_30, 42, 4, hours_after_due=26)  # 50 % on day 43
    [lumbar] = eligibility_by_site(patient_figures(patient), now=DAY_43_NOON)
    assert lumbar.result.verdict == ELIGIBLE


def test_the_verdict_reads_no_check_in_twice(
    relief_through_day_30, clock, django_assert_num_queries
):
    clock.move_to(DAY_43_NOON)
    figures = patient_figures(relief_through_day_30.patient)
    # The policies of the patient's sites, in one query; the check-ins are prefetched.
    with django_assert_num_queries(1):
        eligibility_by_site(figures, now=DAY_43_NOON)


LOS_ANGELES = "America/Los_Angeles"
BOOKED = datetime(2026, 7, 8, 3, tzinfo=UTC)  # 8:00 PM PDT on Jul 7 (Jul 8 in UTC)
INJECTED = datetime(2026, 7, 15, 0, 30, tzinfo=UTC)  # 5:30 PM PDT on Jul 14 (Jul 15 in UTC)
AUG_10_NOON = datetime(2026, 8, 10, 19, tzinfo=UTC)  # 12:00 PDT: Jul 14 + 17 + 10 = 27 days


def test_the_page_shows_the_locations_dates_and_where_the_baseline_came_from(clinician_user, clock):
    clinician = ClinicianFactory(user=clinician_user)
    site = Site.objects.get(slug="lumbar")
    clock.move_to(BOOKED)
    appointment = AppointmentFactory(
        site=site,
        clinician=clinician,
        location=LocationFactory(time_zone=LOS_ANGELES),
        start=INJECTED - timedelta(minutes=30),
        baseline_pain=8,
        status=AppointmentStatus.ARRIVED,
    )
    clock.move_to(INJECTED)
    procedure = complete_visit(
        appointment=appointment,
        procedure=ProcedureDetails(
            site=site,
            side="left",
            injectates=[InjectateDetails("corticosteroid")],
            trigger_points=1,
            pain_before=None,
        ),
        clinician=clinician,
        now=INJECTED,
    )
    # Day 7 (Jul 21) answered at 6:00 PM PDT, 01:00 UTC on Jul 22.
    answer_check_in(procedure.episode, 7, 4, hours_after_due=8)
    clock.move_to(AUG_10_NOON)
    page = client_for(clinician_user).get(f"/staff/patients/{appointment.patient_id}/trends/")
    text = page.content.decode()
    assert "Not yet" in text
    assert "Jul 14, 2026 (27 days" in text
    assert "Earliest date the timing rules allow: Aug 25, 2026." in text  # Jul 14 + 42 days
    assert (
        "<td>Baseline (baseline from booking, 7 days before the injection)</td>"
        "<td>Jul 7, 2026</td>" in text
    )
    assert "<td>Day 7 check-in: ≥ 50 %, relief began</td><td>Jul 21, 2026</td>" in text
