"""Patient data in the Django admin is for clinic admins only.

A clinician could list every patient with birth date, email and phone, read any check-in
answer and any appointment's safety answers in the admin; reception read check-in answers
(the episode's inline) and procedure notes there. Reception and clinicians work from the
desk and the staff pages, which apply `visible_patients` and `can_read_clinical`; the
admin's patient data is the clinic admins' (booking.admin.PatientDataAdmin), whatever
permissions a group is given by hand.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client

from booking.admin import PatientDataAdmin
from booking.models import AuditEvent, Patient
from booking.roles import CLINIC_ADMIN, CLINICIAN, RECEPTION, ROLE_PERMISSIONS
from followup.models import Alert, InboundSms, Message
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    SafetyAnswersFactory,
    UserFactory,
    answer_check_in,
    episode_after_procedure,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 12, 3, 15, tzinfo=UTC)
ZELDA = {"first_name": "Zelda", "last_name": "Quigley", "email": "zelda.quigley@example.org"}

# Every registered model whose rows name a patient or hold their clinical data.
PATIENT_DATA = {
    "booking.patient",
    "booking.appointment",
    "booking.auditevent",
    "followup.message",
    "followup.inboundsms",
    "followup.procedure",
    "followup.episode",
    "followup.checkinanswer",
    "followup.alert",
}


@pytest.fixture
def quinn():
    user = UserFactory(username="dr.quinn", is_staff=True)
    user.groups.add(Group.objects.get(name=CLINICIAN))
    return ClinicianFactory(user=user, display_name="Dr. Quinn")


@pytest.fixture
def objects(quinn) -> dict[str, object]:
    """One row of each patient-data model, all of them Zelda's, treated by Dr. Quinn."""
    patient = PatientFactory(**ZELDA, phone="+18605550123", consent_email=True)
    episode = episode_after_procedure(
        patient=patient,
        clinician=quinn,
        location=LocationFactory(),
        performed_at=NOW - timedelta(days=2),
    )
    procedure = episode.procedure
    procedure.notes = "Quigley: deep trigger point, flinched"
    procedure.save(update_fields=["notes"])
    appointment = procedure.appointment
    SafetyAnswersFactory(
        appointment=appointment, takes_blood_thinners=True, blood_thinner_names="warfarin"
    )
    answer = answer_check_in(episode, day=1, pain=9, comment="Quigley feels worse")
    return {
        "booking.patient": patient,
        "booking.appointment": appointment,
        "booking.auditevent": AuditEvent.objects.create(
            action="view", patient=patient, summary="Viewed Quigley"
        ),
        "followup.message": Message.objects.filter(appointment=appointment).first(),
        "followup.inboundsms": InboundSms.objects.create(
            provider_sid="SM1",
            from_number="+18605550123",
            body="9 Quigley",
            received_at=NOW,
            outcome="pain_recorded",
        ),
        "followup.procedure": procedure,
        "followup.episode": episode,
        "followup.checkinanswer": answer,
        "followup.alert": Alert.objects.create(answer=answer, clinician=quinn, reasons=["fever"]),
    }


def _user(role: str, quinn):
    if role == "own clinician":
        return quinn.user
    user = UserFactory(username=role.replace(" ", "-"), is_staff=True)
    group = CLINICIAN if role == "another clinician" else role
    user.groups.add(Group.objects.get(name=group))
    if role == "another clinician":
        ClinicianFactory(user=user)
    return user


def _pages(objects) -> list[str]:
    """Each model's changelist and its row's change page."""
    pages = []
    for label, instance in objects.items():
        path = label.replace(".", "/")
        pages += [f"/admin/{path}/", f"/admin/{path}/{instance.pk}/change/"]
    return pages


def _reaches_a_patient(model, hops: int = 4) -> bool:
    """Whether a row of `model` names a patient through its foreign keys."""
    if model is Patient:
        return True
    return hops > 0 and any(
        _reaches_a_patient(field.related_model, hops - 1)
        for field in model._meta.fields
        if field.is_relation and field.related_model is not model
    )


@pytest.mark.slow
def test_every_registered_patient_data_model_is_the_clinic_admins():
    registered = {model._meta.label_lower: model for model in admin.site._registry}
    naming_a_patient = {label for label, model in registered.items() if _reaches_a_patient(model)}
    assert naming_a_patient <= PATIENT_DATA, "add these to PATIENT_DATA and guard their admin"
    guarded = {
        label
        for label, model in registered.items()
        if isinstance(admin.site._registry[model], PatientDataAdmin)
    }
    assert guarded == PATIENT_DATA


@pytest.mark.parametrize("role", [RECEPTION, "own clinician", "another clinician"])
def test_reception_and_clinicians_get_no_patient_data_from_the_admin(objects, quinn, role):
    client = Client()
    client.force_login(_user(role, quinn))
    for url in _pages(objects):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Quigley" not in response.content.decode(), url
    index = client.get("/admin/").content.decode()
    for label in PATIENT_DATA:
        assert f"/admin/{label.replace('.', '/')}/" not in index, label


@pytest.mark.parametrize("account", ["anonymous", "not staff"])
def test_those_who_are_not_staff_are_sent_to_log_in(objects, account):
    client = Client()
    if account == "not staff":
        client.force_login(UserFactory(username="pat"))
    for url in _pages(objects):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def test_a_clinic_admin_sees_all_of_it(objects, quinn):
    client = Client()
    client.force_login(_user(CLINIC_ADMIN, quinn))
    for url in _pages(objects):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get(f"/admin/followup/episode/{objects['followup.episode'].pk}/change/")
    assert "9/10" in page.content.decode()  # the check-in answers, in the episode's inline


def test_a_permission_given_by_hand_does_not_open_patient_data(objects, quinn):
    """The rule is the admin's, not only the groups': a clinic admin who ticks "can view
    patient" on the reception group by mistake opens nothing."""
    reception = Group.objects.get(name=RECEPTION)
    for label in PATIENT_DATA:
        app_label, model = label.split(".")
        reception.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__endswith=model)
        )
    client = Client()
    client.force_login(_user(RECEPTION, quinn))
    for url in _pages(objects):
        assert client.get(url).status_code == 403, url


def test_the_roles_carry_no_patient_data_permission():
    for role in (RECEPTION, CLINICIAN):
        assert not PATIENT_DATA & set(ROLE_PERMISSIONS[role]), role
        assert "booking.safetyanswers" not in ROLE_PERMISSIONS[role]
