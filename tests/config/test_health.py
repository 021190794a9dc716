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
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_200_before_beat_first_ran_the_dispatcher(client):
    # A new deployment's web servers are ready (compose starts them, the proxy sends them
    # patients) before beat's first tick: readiness is the database and the broker only.
    DispatcherRun.objects.all().delete()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "dispatcher" not in response.json()


def test_the_dispatchers_health_is_200_while_it_runs(client):
    response = client.get("/healthz/dispatcher")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "dispatcher": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_the_dispatchers_health_is_503_when_it_has_not_run_for_five_minutes(client):
    DispatcherRun.objects.filter(pk=1).update(finished_at=timezone.now() - timedelta(minutes=6))
    response = client.get("/healthz/dispatcher")
    assert response.status_code == 503
    assert response.json()["dispatcher"].startswith("error: last run")
    assert client.get("/healthz").status_code == 200


def test_the_dispatchers_health_is_503_when_it_never_ran(client):
    DispatcherRun.objects.all().delete()
    response = client.get("/healthz/dispatcher")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "dispatcher": "error: never run"}


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

    monkeypatch.setattr("config.health.connection", UnreachableDatabase())
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
