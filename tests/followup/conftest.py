"""The follow-up tests' usual cast: Dr. Maya Patel, and Ana Silva with an episode after a
lumbar procedure at the module's PERFORMED. A module that needs someone else defines its own
fixture of the same name."""

import pytest
from django.contrib.auth.models import User

from booking.models import Clinician, Patient
from followup.models import CheckIn, Episode
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    episode_after_procedure,
)


@pytest.fixture
def clinician(clinician_user: User) -> Clinician:
    return ClinicianFactory(user=clinician_user, display_name="Dr. Maya Patel")


@pytest.fixture
def patient(db) -> Patient:
    return PatientFactory(first_name="Ana", last_name="Silva", phone="+18605550123")


@pytest.fixture
def episode(request: pytest.FixtureRequest, patient: Patient) -> Episode:
    location = LocationFactory(name="Main Street", phone="+18605550100")
    return episode_after_procedure(
        patient=patient, location=location, performed_at=request.module.PERFORMED, pain_before=6
    )


@pytest.fixture
def day_3(episode: Episode) -> CheckIn:
    return episode.check_ins.get(day=3)
