from datetime import time

import pytest

from booking.models import Site
from tests.factories import ClinicianFactory, LocationFactory, WorkingHoursFactory


@pytest.fixture
def clinic(db):
    """One New York location, two clinicians injecting lumbar, Mon-Fri 08:00-17:00."""
    location = LocationFactory(name="Main Street")
    lumbar = Site.objects.get(slug="lumbar")  # 45 minutes, 15-minute grid, 24 h notice
    clinicians = [
        ClinicianFactory(display_name=name, sites=[lumbar], locations=[location])
        for name in ("Dr. Adams", "Dr. Brown")
    ]
    for clinician in clinicians:
        for weekday in range(5):
            WorkingHoursFactory(
                clinician=clinician,
                location=location,
                weekday=weekday,
                start_time=time(8),
                end_time=time(17),
            )
    return {"location": location, "site": lumbar, "clinicians": clinicians}
