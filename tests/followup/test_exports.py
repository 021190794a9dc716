"""Exports: the answers as CSV (pseudonyms unless a clinic admin) and one patient's
record as a FHIR R4 Bundle validated with fhir.resources' R4B models."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from fhir.resources.R4B.bundle import Bundle

from booking.models import AuditEvent, Patient
from booking.roles import CLINICIAN
from followup.clinical import calendar_days_between
from followup.exports import answer_rows, pseudonym, safe_cell
from followup.fhir import BODY_SITES, LATERALITY
from followup.models import Procedure
from followup.outcome_stats import OutcomeFilters
from tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    answer_check_in,
    episode_after_procedure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)
NOW = datetime(2027, 7, 1, 15, tzinfo=UTC)
CSV_URL = "/staff/outcomes/export.csv"


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Ana", last_name="Lopez", consent_email=True)


@pytest.fixture
def lumbar(clinician, patient):
    episode = episode_after_procedure(
        clinician=clinician, patient=patient, performed_at=PERFORMED, pain_before=7
    )
    # Day 7 from before the warning-sign question; day 30 answered it with "none of these".
    answer_check_in(episode, 7, 3, relief_percent=60, pgic=2, side_effects=["soreness"])
    answer_check_in(episode, 30, 5, activity="more", medication="less", side_effects=["none"])
    return episode


@pytest.fixture
def bursal(clinician, patient):
    episode = episode_after_procedure(
        site_slug="bursal",
        clinician=clinician,
        patient=patient,
        performed_at=datetime(2027, 2, 1, 15, tzinfo=UTC),
        injectates=("local_anaesthetic",),
    )
    answer_check_in(episode, 3, 4)
    return episode


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# --- CSV ---------------------------------------------------------------------------------


def test_pseudonyms_are_stable_keyed_and_distinct(settings):
    assert pseudonym(1) == pseudonym(1)
    assert pseudonym(1) != pseudonym(2)
    assert pseudonym(1).startswith("P-")
    assert len(pseudonym(1)) == 12
    before = pseudonym(1)
    settings.SECRET_KEY = "another key"
    assert pseudonym(1) != before


def test_cells_that_look_like_formulas_are_defused():
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("Ana") == "Ana"


def test_clinicians_get_one_pseudonymous_row_per_answer(clinician_user, lumbar, bursal, patient):
    response = client_for(clinician_user).get(CSV_URL)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    table = rows(response)
    assert list(table[0]) == [
        "patient_pseudonym",
        "site",
        "side",
        "injectates",
        "procedure_date",
        "check_in_day",
        "days_since_procedure",
        "answered_at",
        "late",
        "pain_nrs",
        "baseline_nrs",
        "relief_percent",
        "pgic",
        "side_effects",
        "warning_signs",
        "activity",
        "medication",
        "relief_at_least_days",
        "relief_at_most_days",
        "baseline_source",
    ]
    assert len(table) == 3
    first = table[0]
    assert first["patient_pseudonym"] == pseudonym(patient.pk)
    assert first["site"] == "Lumbar"
    assert first["injectates"] == "corticosteroid;local_anaesthetic"
    assert first["check_in_day"] == "7"
    assert first["days_since_procedure"] == "7"
    assert (first["pain_nrs"], first["baseline_nrs"], first["relief_percent"], first["pgic"]) == (
        "3",
        "7",
        "60",
        "2",
    )
    assert (first["side_effects"], first["warning_signs"]) == ("soreness", "not answered")
    assert (table[1]["side_effects"], table[1]["warning_signs"]) == ("", "none")
    assert (table[1]["activity"], table[1]["medication"]) == ("more", "less")
    assert table[2]["injectates"] == "local_anaesthetic"
    text = json.dumps(table)
    assert "Lopez" not in text
    assert str(patient.pk) not in [row["patient_pseudonym"] for row in table]
    event = AuditEvent.objects.get(user=clinician_user)
    assert event.action == "export"
    assert "pseudonymised" in event.summary


def test_clinic_admins_see_names_and_ids(clinic_admin, lumbar, patient):
    table = rows(client_for(clinic_admin).get(CSV_URL))
    assert (table[0]["patient_id"], table[0]["patient_name"]) == (str(patient.pk), "Ana Lopez")
    assert "patient_pseudonym" not in table[0]


def test_clinicians_export_only_their_own_patients_answers(clinician_user, clinic_admin, lumbar):
    colleague = ClinicianFactory(display_name="Dr. Other")
    theirs = episode_after_procedure(clinician=colleague, performed_at=PERFORMED)
    answer_check_in(theirs, 7, 8)
    own = rows(client_for(clinician_user).get(CSV_URL))
    assert {row["patient_pseudonym"] for row in own} == {pseudonym(lumbar.patient_id)}
    everyone = rows(client_for(clinic_admin).get(CSV_URL))
    assert {row["patient_id"] for row in everyone} == {
        str(lumbar.patient_id),
        str(theirs.patient_id),
    }


def test_the_csv_follows_the_filters(clinician_user, lumbar, bursal):
    assert len(rows(client_for(clinician_user).get(CSV_URL, {"site": "bursal"}))) == 1
    assert len(rows(client_for(clinician_user).get(CSV_URL, {"injectate": "saline"}))) == 0
    bad = client_for(clinician_user).get(CSV_URL, {"date_from": "soon"})
    assert bad.status_code == 400


def test_csv_access(db, receptionist, patient_user):
    assert Client().get(CSV_URL).status_code == 302
    assert client_for(receptionist).get(CSV_URL).status_code == 403
    assert client_for(patient_user).get(CSV_URL).status_code == 403


def answered_on(table: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(r["procedure_date"], r["check_in_day"], r["days_since_procedure"]) for r in table]


def test_days_since_the_procedure_are_calendar_days_in_new_york(clinic_admin, settings):
    # Check-ins due at 09:00 so that day 3 can be answered at 09:00.
    settings.CHECK_IN_HOUR = 9
    # 10:00 EST on Tue Dec 1, 2026 (15:00 UTC).
    episode = episode_after_procedure(performed_at=datetime(2026, 12, 1, 15, tzinfo=UTC))
    # Day 1 due Dec 2 09:00 EST, answered 10:05 (24 h 05 min after the injection): Dec 2 -
    # Dec 1 = 1 day.
    answer_check_in(episode, 1, 5, hours_after_due=65 / 60)
    # Day 3 due Dec 4 09:00 EST, answered at once (2 days 23 hours after the injection, which
    # whole 24-hour periods count as 2): Dec 4 - Dec 1 = 3 days.
    answer_check_in(episode, 3, 4, hours_after_due=0)
    table = rows(client_for(clinic_admin).get(CSV_URL))
    assert answered_on(table) == [("2026-12-01", "1", "1"), ("2026-12-01", "3", "3")]


def test_a_late_afternoon_injection_in_los_angeles_keeps_its_local_date(clinic_admin):
    pacific = LocationFactory(time_zone="America/Los_Angeles")
    # 17:30 PDT on Mon Oct 5, 2026 is 00:30 UTC on Oct 6: the CSV shows Oct 5.
    episode = episode_after_procedure(
        location=pacific, performed_at=datetime(2026, 10, 6, 0, 30, tzinfo=UTC)
    )
    # Day 1 due Oct 6 10:00 PDT, answered 11:00 PDT = 18:00 UTC, 17.5 hours after the
    # injection (0 whole days): Oct 6 - Oct 5 = 1 day.
    answer_check_in(episode, 1, 5, hours_after_due=1)
    table = rows(client_for(clinic_admin).get(CSV_URL))
    assert answered_on(table) == [("2026-10-05", "1", "1")]


def test_days_since_the_procedure_across_the_spring_dst_change(clinic_admin):
    # 10:00 EST on Sat Mar 13, 2027 (15:00 UTC); clocks go forward at 02:00 on Sun Mar 14.
    episode = episode_after_procedure(performed_at=datetime(2027, 3, 13, 15, tzinfo=UTC))
    # Day 1 due Mar 14 10:00 EDT = 14:00 UTC, answered 14:30 UTC: 23.5 hours after the
    # injection (0 whole days), but Mar 14 - Mar 13 = 1 calendar day.
    answer_check_in(episode, 1, 5, hours_after_due=0.5)
    table = rows(client_for(clinic_admin).get(CSV_URL))
    assert answered_on(table) == [("2027-03-13", "1", "1")]


def test_calendar_days_between_uses_the_zones_dates():
    new_york = ZoneInfo("America/New_York")
    # 23:30 EST Dec 1 (04:30 UTC Dec 2) to 00:30 EST Dec 2: one hour, one calendar day.
    start = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)
    assert calendar_days_between(start, start + timedelta(hours=1), new_york) == 1
    # The same hour in UTC is the same date there.
    assert calendar_days_between(start, start + timedelta(hours=1), ZoneInfo("UTC")) == 0


def episode_with_booking_baseline(*, site_slug: str, booked_at: datetime, pain_at_booking: int):
    """An episode whose only baseline is the score given at booking (none before injecting)."""
    episode = episode_after_procedure(site_slug=site_slug, performed_at=PERFORMED, pain_before=None)
    appointment = episode.procedure.appointment
    type(appointment).objects.filter(pk=appointment.pk).update(
        baseline_pain=pain_at_booking, created=booked_at
    )
    type(episode).objects.filter(pk=episode.pk).update(baseline_pain=pain_at_booking)
    episode.refresh_from_db()
    return episode


def test_the_duration_of_relief_and_the_baseline_source(clinic_admin, lumbar, bursal):
    # Thoracic: booked Nov 20, 2026 with pain 8; injected Dec 1 with no score before.
    thoracic = episode_with_booking_baseline(
        site_slug="thoracic", booked_at=datetime(2026, 11, 20, 15, tzinfo=UTC), pain_at_booking=8
    )
    answer_check_in(thoracic, 7, 4)
    answer_check_in(thoracic, 14, 3)
    table = rows(client_for(clinic_admin).get(CSV_URL))
    episode_columns = {
        (r["site"], r["check_in_day"]): (
            r["baseline_nrs"],
            r["relief_at_least_days"],
            r["relief_at_most_days"],
            r["baseline_source"],
        )
        for r in table
    }
    assert episode_columns == {
        # Lumbar, baseline 7 measured before injecting; 50 % below 7 is 3.5: day 7 at 3 is
        # relieved, day 30 at 5 is not, so relief lasted between 7 and 30 days (both rows).
        ("Lumbar", "7"): ("7", "7", "30", "before injection"),
        ("Lumbar", "30"): ("7", "7", "30", "before injection"),
        # Bursal, baseline 6; 50 % below is 3, and day 3 at 4 is above it: relief never began.
        ("Bursal", "3"): ("6", "", "", "before injection"),
        # Thoracic, baseline 8 from booking; 50 % below is 4: day 7 at 4 and day 14 at 3 are
        # both relieved and no answer shows relief ending: at least 14 days, at most unknown.
        ("Thoracic", "7"): ("8", "14", "", "booking"),
        ("Thoracic", "14"): ("8", "14", "", "booking"),
    }


def test_no_baseline_leaves_the_episode_columns_empty(clinic_admin):
    episode = episode_after_procedure(performed_at=PERFORMED, pain_before=None)
    answer_check_in(episode, 7, 2)
    (row,) = rows(client_for(clinic_admin).get(CSV_URL))
    assert (
        row["baseline_nrs"],
        row["relief_at_least_days"],
        row["relief_at_most_days"],
        row["baseline_source"],
    ) == ("", "", "", "")


def test_the_csv_reads_two_queries_whatever_the_number_of_answers(
    clinician, patient, lumbar, bursal, django_assert_num_queries
):
    more = episode_after_procedure(
        clinician=clinician, patient=patient, performed_at=datetime(2026, 12, 2, 15, tzinfo=UTC)
    )
    for day, pain in ((1, 6), (3, 5), (7, 4), (14, 3), (30, 3)):
        answer_check_in(more, day, pain)
    with django_assert_num_queries(2):
        table = list(
            answer_rows(OutcomeFilters(), patients=Patient.objects.all(), identified=False)
        )
    assert len(table) == 3 + 5


# --- FHIR --------------------------------------------------------------------------------


def fhir_url(patient) -> str:
    return f"/fhir/Patient/{patient.pk}/$everything"


def test_the_bundle_validates_and_holds_the_patients_record(clinician_user, lumbar, bursal):
    patient = lumbar.patient
    response = client_for(clinician_user).get(fhir_url(patient))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    data = json.loads(response.content)
    bundle = Bundle.model_validate(data)
    assert bundle.type == "searchset"
    resources = [entry["resource"] for entry in data["entry"]]
    kinds = [r["resourceType"] for r in resources]
    assert kinds.count("Patient") == 1
    assert kinds.count("Practitioner") == 1
    assert kinds.count("Location") == 2
    assert kinds.count("Appointment") == 2
    assert kinds.count("Procedure") == 2
    assert kinds.count("QuestionnaireResponse") == 3
    # One per answer, and one per procedure's baseline (lumbar 7, bursal 6).
    assert kinds.count("Observation") == 3 + 2
    # The lumbar procedure's left side; the bursal site has no verified structure code.
    assert kinds.count("BodyStructure") == 1
    assert resources[0]["name"] == [{"family": "Lopez", "given": ["Ana"]}]

    procedures = {r["id"]: r for r in resources if r["resourceType"] == "Procedure"}
    lumbar_procedure = procedures[str(lumbar.procedure.pk)]
    assert lumbar_procedure["bodySite"][0]["coding"] == [
        {
            "system": "http://snomed.info/sct",
            "code": "244849004",
            "display": "Deep muscle of back",
        }
    ]
    bursal_procedure = procedures[str(bursal.procedure.pk)]
    assert "coding" not in bursal_procedure["bodySite"][0]
    assert bursal_procedure["bodySite"][0]["text"].startswith("Bursal")

    observations = [r for r in resources if r["resourceType"] == "Observation"]
    responses = {r["id"] for r in resources if r["resourceType"] == "QuestionnaireResponse"}
    answered = [o for o in observations if not o["id"].startswith("baseline-")]
    for observation in answered:
        assert observation["code"]["coding"][0]["system"] == "http://loinc.org"
        assert observation["code"]["coding"][0]["code"] == "72514-3"
        assert isinstance(observation["valueInteger"], int)
        assert observation["effectiveDateTime"]
        derived = observation["derivedFrom"][0]["reference"]
        assert derived.startswith("QuestionnaireResponse/")
        assert derived.split("/")[1] in responses
    assert sorted(o["valueInteger"] for o in answered) == [3, 4, 5]

    # The side-effect questions by their words; an unanswered warning-sign question has
    # no item (not answered), never one that reads as none.
    answers = {
        r["id"]: {item["linkId"]: item["answer"] for item in r["item"]}
        for r in resources
        if r["resourceType"] == "QuestionnaireResponse"
    }
    day_7, day_30 = (str(lumbar.check_ins.get(day=day).pk) for day in (7, 30))
    assert answers[day_7]["side-effects"] == [{"valueString": "Soreness where the needle went in"}]
    assert "warning-signs" not in answers[day_7]
    assert "side-effects" not in answers[day_30]
    assert answers[day_30]["warning-signs"] == [{"valueString": "None of these"}]

    event = AuditEvent.objects.get(user=clinician_user)
    assert (event.action, event.patient) == ("export", patient)


@pytest.mark.parametrize(
    ("slug", "code"),
    [
        ("cervical-trigger-point", "81727001"),
        ("thoracic", "244849004"),
        ("lumbar", "244849004"),
        ("intra-articular", "39352004"),
    ],
)
def test_body_sites_are_coded_with_snomed(clinic_admin, slug, code):
    episode = episode_after_procedure(site_slug=slug, performed_at=PERFORMED)
    data = client_for(clinic_admin).get(fhir_url(episode.patient)).json()
    Bundle.model_validate(data)
    procedure = next(
        e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Procedure"
    )
    assert procedure["bodySite"][0]["coding"][0]["code"] == code


def bundle_resources(user, patient) -> list[dict]:
    data = client_for(user).get(fhir_url(patient)).json()
    Bundle.model_validate(data)
    return [entry["resource"] for entry in data["entry"]]


def verhoeff_valid(number: str) -> bool:
    """The Verhoeff check (SNOMED CT identifiers end in one), written out here."""
    d = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ]
    p = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ]
    check = 0
    for position, digit in enumerate(reversed(number)):
        check = d[check][p[position % 8][int(digit)]]
    return check == 0


def test_every_snomed_id_in_the_export_has_a_valid_check_digit():
    codes = {code for code, _ in BODY_SITES.values()} | {code for code, _ in LATERALITY.values()}
    assert codes == {"81727001", "244849004", "39352004", "7771000", "24028007", "51440002"}
    assert all(verhoeff_valid(code) for code in codes)
    # The check catches a wrong id: 13413003, offered by one public source as "Injection
    # into joint", fails it (so it is not used), as does 7771000 with its last digit changed.
    assert not verhoeff_valid("13413003")
    assert not verhoeff_valid("7771001")


def test_the_side_is_a_body_structure_with_its_laterality(clinic_admin, lumbar):
    resources = bundle_resources(clinic_admin, lumbar.patient)
    procedure = next(r for r in resources if r["resourceType"] == "Procedure")
    (structure,) = [r for r in resources if r["resourceType"] == "BodyStructure"]
    assert procedure["extension"] == [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/procedure-targetBodyStructure",
            "valueReference": {"reference": f"BodyStructure/{structure['id']}"},
        }
    ]
    assert structure["location"]["coding"][0]["code"] == "244849004"
    assert structure["locationQualifier"][0]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "7771000", "display": "Left"}
    ]
    assert structure["patient"] == {"reference": f"Patient/{lumbar.patient_id}"}


@pytest.mark.parametrize(
    ("side", "laterality"), [("right", "24028007"), ("bilateral", "51440002"), ("midline", None)]
)
def test_each_side_has_its_laterality_code(clinic_admin, side, laterality):
    episode = episode_after_procedure(site_slug="cervical-trigger-point", performed_at=PERFORMED)
    Procedure.objects.filter(pk=episode.procedure_id).update(side=side)
    resources = bundle_resources(clinic_admin, episode.patient)
    structures = [r for r in resources if r["resourceType"] == "BodyStructure"]
    procedure = next(r for r in resources if r["resourceType"] == "Procedure")
    if laterality is None:
        # A midline injection has no laterality: no BodyStructure, the site code alone.
        assert structures == []
        assert "extension" not in procedure
    else:
        assert structures[0]["locationQualifier"][0]["coding"][0]["code"] == laterality
    assert procedure["bodySite"][0]["coding"][0]["code"] == "81727001"
    assert procedure["code"] == {"text": "Trigger point injection"}


def baseline_observations(resources: list[dict]) -> list[dict]:
    return [r for r in resources if r["id"].startswith("baseline-")]


def test_a_baseline_measured_before_injecting_is_its_own_observation(clinic_admin, lumbar):
    (baseline,) = baseline_observations(bundle_resources(clinic_admin, lumbar.patient))
    assert baseline["resourceType"] == "Observation"
    assert baseline["code"]["coding"][0]["code"] == "72514-3"
    assert baseline["valueInteger"] == 7
    # Measured at the injection: 15:00 UTC on Dec 1, 2026.
    assert baseline["effectiveDateTime"] == "2026-12-01T15:00:00+00:00"
    assert baseline["partOf"] == [{"reference": f"Procedure/{lumbar.procedure_id}"}]
    assert baseline["note"] == [{"text": "Baseline measured just before the injection"}]


def test_a_baseline_from_booking_is_dated_at_the_booking(clinic_admin):
    # Booked 10:00 EST on Nov 20, 2026 with pain 8; injected 10:00 EST on Dec 1: Dec 1 -
    # Nov 20 = 11 days.
    episode = episode_with_booking_baseline(
        site_slug="lumbar", booked_at=datetime(2026, 11, 20, 15, tzinfo=UTC), pain_at_booking=8
    )
    (baseline,) = baseline_observations(bundle_resources(clinic_admin, episode.patient))
    assert baseline["valueInteger"] == 8
    assert baseline["effectiveDateTime"] == "2026-11-20T15:00:00+00:00"
    assert baseline["note"] == [{"text": "Baseline from booking, 11 days before the injection"}]


def test_no_baseline_no_baseline_observation(clinic_admin):
    episode = episode_after_procedure(performed_at=PERFORMED, pain_before=None)
    assert baseline_observations(bundle_resources(clinic_admin, episode.patient)) == []


def test_fhir_access(db, receptionist, patient_user, clinic_admin, lumbar):
    patient = lumbar.patient
    url = fhir_url(patient)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]
    assert client_for(receptionist).get(url).status_code == 403
    assert client_for(patient_user).get(url).status_code == 403
    assert client_for(clinic_admin).get(url).status_code == 200
    assert client_for(clinic_admin).get("/fhir/Patient/999999/$everything").status_code == 404


def test_clinicians_export_only_their_patients(db, lumbar):
    stranger = PatientFactory()
    AppointmentFactory(patient=stranger)
    other = ClinicianFactory(user__username="dr.other")
    other.user.groups.add(Group.objects.get(name=CLINICIAN))
    client = client_for(other.user)
    assert client.get(fhir_url(lumbar.patient)).status_code == 404
    assert not AuditEvent.objects.exists()
