from datetime import timedelta

import pytest
from django.db import connection
from django.db.utils import OperationalError
from django.utils import timezone

from config.celery import app as celery_app
from followup.models import DispatcherRun


@pytest.fixture(autouse=True)
def _dispatcher_ran(db):
    DispatcherRun.objects.create(pk=1, finished_at=timezone.now())


def test_healthz_is_200_when_the_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "dispatcher": "ok",
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_when_the_dispatcher_has_not_run_for_five_minutes(client):
    DispatcherRun.objects.filter(pk=1).update(finished_at=timezone.now() - timedelta(minutes=6))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["dispatcher"].startswith("error: last run")


def test_healthz_is_503_when_the_dispatcher_never_ran(client):
    DispatcherRun.objects.all().delete()
    assert client.get("/healthz").json()["dispatcher"] == "error: never run"


def test_healthz_is_503_when_the_broker_is_down(client, db, monkeypatch):
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(celery_app.conf, "broker_transport_options", {})
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["broker"].startswith("error:")


def test_healthz_is_503_when_the_database_is_down(client, db, monkeypatch):
    class UnreachableDatabase:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("booking.health.connection", UnreachableDatabase())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"


@pytest.mark.redis
def test_healthz_reaches_the_real_redis_broker(client, db, settings):
    assert celery_app.conf.broker_url == settings.REDIS_URL
    assert client.get("/healthz").json()["broker"] == "ok"


@pytest.mark.postgres
def test_healthz_reaches_the_real_postgres(client, db):
    assert connection.vendor == "postgresql"
    assert client.get("/healthz").json()["database"] == "ok"
