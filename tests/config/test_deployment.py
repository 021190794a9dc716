"""docker-compose.yml and the Procfile must name commands that exist in this project."""

import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands
from django.utils.module_loading import import_string

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"migrate", "web", "worker", "beat"}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _procfile_commands() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {
        name: shlex.split(command)
        for name, command in (line.split(":", 1) for line in lines if line.strip())
    }


def assert_project_entry_point(command: list[str]) -> None:
    """The command starts gunicorn on our WSGI app, Celery on our app, or a manage.py command."""
    program, *arguments = command
    if program == "gunicorn":
        application = import_string(arguments[0].replace(":", "."))
        assert callable(application)
    elif program == "celery":
        assert arguments[:2] == ["-A", "config"]
        assert import_string("config.celery_app").main == "painclinic"
        assert arguments[2] in {"worker", "beat"}
    elif program == "python":
        assert arguments[0] == "manage.py"
        assert arguments[1] in get_commands(), f"no management command {arguments[1]!r}"
    else:
        pytest.fail(f"unknown entry point {program!r}")


def test_compose_has_the_production_services_each_with_a_healthcheck():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_every_compose_command_is_a_real_entry_point(service):
    assert_project_entry_point(_compose()["services"][service]["command"])


def test_compose_keeps_secrets_out_of_the_file():
    environment = _compose()["services"]["web"]["environment"]
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert "${POSTGRES_PASSWORD:?" in environment["DATABASE_URL"]
    assert environment["DEBUG"] == "false"


@pytest.mark.parametrize("process", ["web", "worker", "beat"])
def test_every_procfile_command_is_a_real_entry_point(process):
    assert_project_entry_point(_procfile_commands()[process])


def test_the_dockerfile_serves_the_wsgi_app_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "config.wsgi:application" in dockerfile
    assert "collectstatic" in dockerfile
    assert "EMBEDDED_SERVICES=true" in dockerfile  # the build has no database or Redis


def test_redis_keeps_its_queue_across_a_restart_and_never_evicts_it():
    redis = _compose()["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_web_and_worker_can_be_scaled_behind_the_proxy():
    services = _compose()["services"]
    assert not any("container_name" in service for service in services.values())
    assert "ports" not in services["web"], "a published port would clash between replicas"
    assert services["web"]["expose"] == ["8000"]
    assert "web:8000" in services["proxy"]["command"]
    assert services["web"]["environment"]["TRUSTED_PROXY_COUNT"] == "1"


def test_there_is_one_beat():
    beat = _compose()["services"]["beat"]
    assert beat.get("deploy", {}).get("replicas", 1) == 1
    assert [name for name in _compose()["services"] if "beat" in name] == ["beat"]
