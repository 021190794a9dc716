import pytest
from django.db import connection
from django.db.utils import OperationalError

from config.celery import app as celery_app


def test_healthz_is_200_when_the_database_and_broker_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


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
