"""Data migrations: what they promise for rows made before them."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from booking.models import WaitlistOffer
from tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.slow

BEFORE_NOTIFIED_AT = [("booking", "0009_patient_merged_into")]
NOTIFIED_AT = [("booking", "0010_waitlist_offer_notified_at")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_offers_made_before_notified_at_count_as_sent_so_the_sweep_leaves_them(clinic):
    start = datetime(2030, 1, 2, 14, tzinfo=UTC)
    offer = WaitlistOffer.objects.create(
        entry=WaitlistEntryFactory(),
        site=clinic["site"],
        clinician=clinic["clinicians"][0],
        location=clinic["location"],
        start=start,
        expires_at=start - timedelta(hours=1),
    )
    try:
        _migrate(BEFORE_NOTIFIED_AT)  # the column goes; the offer stays, sent as it was made
        _migrate(NOTIFIED_AT)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    offer.refresh_from_db()
    assert offer.notified_at == offer.created
