"""The password reset cannot be used to flood a mailbox or to probe addresses at speed:
a few emails per address per hour whoever asks (the page answers as usual, so it still
reveals nothing), and a few requests per client per hour (then 429)."""

import pytest
from django.core import mail

pytestmark = pytest.mark.django_db

RESET_URL = "/accounts/password_reset/"
EMAIL = "rita@clinic.example.org"


@pytest.fixture
def rita(receptionist):
    receptionist.email = EMAIL
    receptionist.save()
    return receptionist


def ask(client, email: str = EMAIL, address: str = "198.51.100.7") -> int:
    return client.post(RESET_URL, {"email": email}, REMOTE_ADDR=address).status_code


def test_a_first_request_sends_the_link(client, rita):
    assert ask(client) == 302
    assert [message.to for message in mail.outbox] == [[EMAIL]]


def test_sixteen_requests_in_a_row_send_three_emails_then_429(client, rita):
    statuses = [ask(client) for _ in range(16)]
    assert len(mail.outbox) == 3
    assert statuses[:10] == [302] * 10  # the same answer whether an email went or not
    assert statuses[10:] == [429] * 6


def test_the_address_limit_holds_across_clients(client, rita):
    statuses = [ask(client, address=f"203.0.113.{n}") for n in range(8)]
    assert statuses == [302] * 8
    assert len(mail.outbox) == 3


def test_the_client_limit_holds_across_addresses(client, rita):
    statuses = [ask(client, email=f"someone{n}@example.org") for n in range(12)]
    assert statuses == [302] * 10 + [429] * 2
    refused = client.post(RESET_URL, {"email": EMAIL}, REMOTE_ADDR="198.51.100.7")
    assert refused.status_code == 429
    assert "Too many password reset requests" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert not mail.outbox


def test_the_limits_are_settings(client, rita, settings):
    settings.PASSWORD_RESET_ADDRESS_RATE = "1/hour"
    settings.PASSWORD_RESET_CLIENT_RATE = "2/hour"
    assert [ask(client) for _ in range(3)] == [302, 302, 429]
    assert len(mail.outbox) == 1
