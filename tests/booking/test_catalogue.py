from datetime import UTC, datetime, time

import pytest
from django.db import IntegrityError, transaction

from booking.models import Block, ScheduleException, Site, WorkingHours
from tests.factories import (
    ClinicianFactory,
    LocationFactory,
    ScheduleExceptionFactory,
    SiteFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

SITE_SLUGS = ["bursal", "cervical-trigger-point", "intra-articular", "lumbar", "thoracic"]


def test_the_data_migration_creates_the_five_injection_sites():
    sites = Site.objects.order_by("slug")
    assert [site.slug for site in sites] == SITE_SLUGS
    for site in sites:
        assert site.is_active
        assert site.duration_minutes > 0
        assert site.description
        assert site.instructions


def _violates_constraint(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_the_database_refuses_working_hours_that_end_before_they_start():
    assert _violates_constraint(lambda: WorkingHoursFactory(start_time=time(17), end_time=time(8)))
    assert not WorkingHours.objects.exists()


def test_the_database_refuses_a_weekday_out_of_range():
    assert _violates_constraint(lambda: WorkingHoursFactory(weekday=7))


def test_the_database_refuses_a_block_that_ends_before_it_starts():
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert _violates_constraint(
        lambda: Block.objects.create(
            clinician=ClinicianFactory(), start=start, end=start, reason="Meeting"
        )
    )


@pytest.mark.parametrize(("start", "end"), [(time(9), None), (None, time(9)), (time(12), time(9))])
def test_the_database_refuses_half_or_backward_exception_hours(start, end):
    assert _violates_constraint(
        lambda: ScheduleExceptionFactory(date="2026-12-24", start_time=start, end_time=end)
    )
    assert not ScheduleException.objects.exists()


def test_a_schedule_exception_without_times_is_a_day_off():
    exception = ScheduleExceptionFactory(date="2026-12-24")
    assert str(exception).endswith("off on 2026-12-24")


@pytest.mark.parametrize("field", ["duration_minutes", "slot_step_minutes", "max_advance_days"])
def test_the_database_refuses_a_site_rule_of_zero(field):
    assert _violates_constraint(lambda: SiteFactory(**{field: 0}))


def test_site_slugs_are_unique():
    assert _violates_constraint(
        lambda: Site.objects.create(
            slug="lumbar",
            name="Lumbar again",
            duration_minutes=30,
            description="-",
            instructions="-",
        )
    )


def test_the_location_knows_its_zone():
    assert LocationFactory(time_zone="Europe/London").zone.key == "Europe/London"
