"""The printable documentation for a repeat-injection request to a payer: every figure and
date against hand-computed values, in the location's calendar; access per role; audit."""

import html
import re
from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from booking.formats import short_day
from booking.models import AuditEvent
from booking.roles import CLINICIAN
from followup.clinical import in_session_year
from followup.models import EligibilityPolicy
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    answer_check_in,
    episode_after_procedure,
)

# 19:30 EST on Mon Mar 2, 2026 in New York: already Mar 3 in UTC.
LAST_INJECTION = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)
# 10:15 PM EDT on Sun Apr 19, 2026 (Apr 20 in UTC): 48 days after the last injection.
NOW = datetime(2026, 4, 20, 2, 15, tzinfo=UTC)


def url(patient_id: int, site_slug: str = "lumbar") -> str:
    return f"/staff/patients/{patient_id}/sites/{site_slug}/documentation/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:
    """The page's text, tags removed and white space collapsed, for reading it as a reader
    would."""
    inline = re.sub(r"</?(strong|em|a|span)\b[^>]*>", "", response.content.decode())
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


@pytest.fixture
def clinician(clinician_user):
    return ClinicianFactory(user=clinician_user, display_name="Dr. Maya Lee")


@pytest.fixture
def location(db):
    return LocationFactory(
        name="Hartford Pain Center",
        address="12 Asylum Street\nHartford, CT 06103",
        time_zone="America/New_York",
    )


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Ann", last_name="Rivera", date_of_birth=date(1970, 5, 17))


@pytest.fixture
def history(patient, clinician, location, clock):
    """Four injections; the last at the lumbar site, with baseline 8 and answers at days
    1, 7, 14, 30 and 42."""

    def inject(at: datetime, site_slug: str = "lumbar", pain_before: int | None = 8):
        return episode_after_procedure(
            site_slug=site_slug,
            patient=patient,
            clinician=clinician,
            location=location,
            performed_at=at,
            pain_before=pain_before,
        )

    inject(datetime(2025, 3, 3, 15, tzinfo=UTC))  # Mar 3, 2025: more than 12 months ago
    inject(datetime(2025, 6, 10, 14, tzinfo=UTC))  # Jun 10, 2025, 10:00 EDT
    inject(datetime(2026, 1, 15, 15, tzinfo=UTC), site_slug="cervical-trigger-point")
    last = inject(LAST_INJECTION)
    # Check-ins are due at 10:00 on the location's day N after Mar 2 and answered an hour
    # later; day 14's at 22:00 EDT on Mar 16, which is Mar 17 in UTC.
    for day, pain in ((1, 6), (7, 4), (30, 3), (42, 4)):
        answer_check_in(last, day, pain)
    answer_check_in(last, 14, 3, hours_after_due=12)
    EligibilityPolicy.objects.filter(site__slug="lumbar").update(max_per_year=4)
    return last


@pytest.mark.django_db
def test_every_figure_and_date_of_the_last_injection(history, clinician_user):
    response = client_for(clinician_user).get(url(history.patient_id))
    assert response.status_code == 200
    text = page_text(response)
    letterhead = "Hartford Pain Center 12 Asylum Street Hartford, CT 06103 (860) 555-0100"
    assert f"{settings.CLINIC_NAME} · {letterhead}" in text
    assert "Documentation for a repeat-injection request: Lumbar" in text
    assert f"Ann Rivera (patient number {history.patient_id})" in text
    assert "Date of birth May 17, 1970" in text
    assert "Site and side Lumbar, left" in text
    # The location's date of a 19:30 EST injection, not the UTC date (Mar 3).
    assert "Last injection Mar 2, 2026 by Dr. Maya Lee at Hartford Pain Center" in text
    assert "Baseline: 8/10 on the NRS 0-10, measured Mar 2, 2026 (before the injection)." in text
    # Relief = (8 - score) / 8 x 100: 6 -> 25 %, 4 -> 50 %, 3 -> 62.5 %.
    # Dates: Mar 2 + 1 = Mar 3, + 7 = Mar 9, + 14 = Mar 16, + 30 = Apr 1, + 42 = Apr 13.
    assert "(n = 5)" in text
    for row in (
        "Mar 3, 2026 1 NRS 0-10 6/10 25 %",
        "Mar 9, 2026 7 NRS 0-10 4/10 50 %",
        "Mar 16, 2026 14 NRS 0-10 3/10 62.5 %",  # answered at 22:00 EDT: still Mar 16
        "Apr 1, 2026 30 NRS 0-10 3/10 62.5 %",
        "Apr 13, 2026 42 NRS 0-10 4/10 50 %",
    ):
        assert row in text
    # >= 50 % from day 7 through the last answer, day 42: at least 42 days, not ended.
    assert "lasted: At least 42 days (still ≥ 50 % at day 42)." in text
    # The 12 months to Apr 19, 2026 begin after Apr 19, 2025: Jun 10, 2025 and Mar 2, 2026
    # count; Mar 3, 2025 does not, nor the cervical injection of Jan 15, 2026.
    sessions = text[text.index("Sessions at this site") : text.index("The rule it is judged by")]
    assert "(n = 2)" in sessions
    assert "Jun 10, 2025 Left Dr. Maya Lee Hartford Pain Center" in sessions
    assert "Mar 2, 2026 Left Dr. Maya Lee Hartford Pain Center" in sessions
    assert "Mar 3, 2025" not in sessions
    assert "Jan 15, 2026" not in sessions
    # The site's own limits (this clinic allows 4 a year at the lumbar site).
    assert "≥ 50 % relief from baseline, on the same scale, lasting ≥ 6 weeks" in text
    assert "≥ 6 weeks since the last injection at the site" in text
    assert "at most 4 sessions at the site in 12 months" in text
    assert "LCDs L34211 and L36859" in text
    assert "Verdict: Eligible" in text
    assert "Measurements behind the verdict" in text
    assert "Produced Apr 19, 2026, 10:15 PM EDT by" in text
    assert "Clinician's signature" in text


@pytest.mark.django_db
def test_dates_are_the_location_s_in_another_zone(patient, clinician, clock):
    clock.move_to(datetime(2026, 6, 20, 4, tzinfo=UTC))  # 9:00 PM PDT on Jun 19
    los_angeles = LocationFactory(name="Pasadena", time_zone="America/Los_Angeles")
    # 17:30 PDT on Jun 1: Jun 2 in UTC, 20:30 on Jun 1 in New York (the server's zone).
    episode = episode_after_procedure(
        patient=patient,
        clinician=clinician,
        location=los_angeles,
        performed_at=datetime(2026, 6, 2, 0, 30, tzinfo=UTC),
        pain_before=6,
    )
    # Day 7 is due 10:00 PDT Jun 8; answered at 22:00 PDT, Jun 9 in New York and in UTC.
    answer_check_in(episode, 7, 3, hours_after_due=12)
    text = page_text(client_for(clinician.user).get(url(patient.pk)))
    assert "Last injection Jun 1, 2026" in text
    assert "Jun 8, 2026 7 NRS 0-10 3/10 50 %" in text  # (6 - 3) / 6 = 50 %
    assert "Produced Jun 19, 2026, 9:00 PM PDT" in text


@pytest.mark.django_db
def test_without_a_baseline_no_relief_is_claimed(patient, clinician, clock):
    episode = episode_after_procedure(
        patient=patient,
        clinician=clinician,
        performed_at=datetime(2026, 3, 2, 15, tzinfo=UTC),  # 10:00 EST
        pain_before=None,  # and no score given at booking
    )
    answer_check_in(episode, 7, 3)
    text = page_text(client_for(clinician.user).get(url(patient.pk)))
    assert "Baseline: no baseline recorded: relief from baseline cannot be measured." in text
    assert "Mar 9, 2026 7 NRS 0-10 3/10 \N{EN DASH}" in text
    assert "lasted: Not computed: no baseline recorded." in text
    assert "Verdict: Eligible" not in text


@pytest.mark.django_db
def test_a_site_never_injected_is_not_found(history, clinician_user):
    client = client_for(clinician_user)
    assert client.get(url(history.patient_id, "thoracic")).status_code == 404
    assert client.get(url(history.patient_id, "no-such-site")).status_code == 404
    assert not AuditEvent.objects.filter(summary__contains="payer documentation").exists()


@pytest.mark.django_db
def test_each_view_is_audited(history, clinician_user):
    client_for(clinician_user).get(url(history.patient_id))
    [event] = AuditEvent.objects.filter(summary__contains="payer documentation")
    assert (event.patient, event.user, event.action) == (
        history.patient,
        clinician_user,
        AuditEvent.Action.VIEW,
    )
    assert "Lumbar" in event.summary


@pytest.mark.django_db
def test_clinic_admin_reads_it(history, clinic_admin):
    assert client_for(clinic_admin).get(url(history.patient_id)).status_code == 200


@pytest.mark.django_db
def test_reception_is_refused(history, receptionist):
    assert client_for(receptionist).get(url(history.patient_id)).status_code == 403


@pytest.mark.django_db
def test_a_clinician_of_other_patients_gets_404(history):
    other = ClinicianFactory(user__username="dr.other")
    other.user.groups.add(Group.objects.get(name=CLINICIAN))
    assert client_for(other.user).get(url(history.patient_id)).status_code == 404


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(history):
    response = Client().get(url(history.patient_id))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_the_trend_page_links_to_each_site_s_documentation(history, clinician_user):
    trends = client_for(clinician_user).get(f"/staff/patients/{history.patient_id}/trends/")
    page = trends.content.decode()
    assert url(history.patient_id, "lumbar") in page
    assert url(history.patient_id, "cervical-trigger-point") in page
    assert url(history.patient_id, "thoracic") not in page


@pytest.mark.django_db
def test_queries_do_not_grow_with_episodes(
    history, clinician_user, location, clinician, django_assert_max_num_queries
):
    client = client_for(clinician_user)
    client.get(url(history.patient_id))  # warm the session and role caches
    with django_assert_max_num_queries(25) as one:
        client.get(url(history.patient_id))
    for at in (datetime(2025, 9, 1, 14, tzinfo=UTC), datetime(2025, 11, 3, 15, tzinfo=UTC)):
        # More lumbar sessions in the 12 months, each by another clinician.
        earlier = episode_after_procedure(
            patient=history.patient,
            clinician=ClinicianFactory(),
            location=location,
            performed_at=at,
        )
        answer_check_in(earlier, 7, 4)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url(history.patient_id))
    assert response.status_code == 200


def test_the_session_year_and_us_dates():
    # 365 days up to Apr 19, 2026 begin on Apr 20, 2025.
    assert in_session_year(date(2025, 4, 20), date(2026, 4, 19))
    assert not in_session_year(date(2025, 4, 19), date(2026, 4, 19))
    assert in_session_year(date(2026, 4, 19), date(2026, 4, 19))
    assert not in_session_year(date(2026, 4, 20), date(2026, 4, 19))
    assert short_day(date(2026, 3, 2)) == "Mar 2, 2026"
