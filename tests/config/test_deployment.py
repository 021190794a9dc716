"""docker-compose.yml and the Procfile must name commands that exist in this project."""

import fnmatch
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands
from django.utils.module_loading import import_string

from tests.config import compose_spec
from tests.config.test_settings_parsing import load_settings
from tests.config.test_settings_table import documented_variables

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


# --- Every setting reaches the app containers ----------------------------------------------

# In the README's table, not the app's: make run's port, and what compose itself reads.
NOT_FOR_THE_APP_CONTAINERS = {"PORT", "SITE_HOST", "POSTGRES_PASSWORD"}


@pytest.mark.parametrize("service", ["web", "worker", "beat", "migrate"])
def test_every_production_setting_of_the_readme_reaches_the_app_containers(service):
    environment = _compose()["services"][service]["environment"]
    expected = documented_variables() - NOT_FOR_THE_APP_CONTAINERS
    assert expected - set(environment) == set(), f"never reach {service}"
    # A value compose decides, or none: passed through from the shell or .env when set there,
    # else left unset so the app's default applies (an empty string would not be the default).
    assert all(value is None or isinstance(value, str) for value in environment.values())


def test_the_stack_decides_only_what_it_must_and_passes_the_rest_through():
    environment = _compose()["services"]["web"]["environment"]
    decided = {name for name, value in environment.items() if value is not None}
    assert decided == {
        "DEBUG",
        "EMBEDDED_SERVICES",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "SITE_URL",
        "TRUSTED_PROXY_COUNT",
        "DATABASE_URL",
        "REDIS_URL",
        "EMAIL_BACKEND",
    }
    for name in ("SMS_BACKEND", "TWILIO_AUTH_TOKEN", "EMAIL_HOST_PASSWORD", "CLINIC_ALERT_EMAIL"):
        assert environment[name] is None


def _env_example() -> dict[str, str]:
    """NAME=value of every line of .env.example, commented out or not."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = (re.match(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line) for line in lines)
    return {pair[1]: pair[2] for pair in pairs if pair}


def test_the_env_example_lists_every_variable_of_the_readme():
    assert set(_env_example()) == documented_variables()


def test_the_env_example_holds_no_secret_and_its_values_are_valid_settings(monkeypatch):
    example = _env_example()
    for secret in ("SECRET_KEY", "POSTGRES_PASSWORD", "TWILIO_AUTH_TOKEN", "EMAIL_HOST_PASSWORD"):
        assert example[secret] == "", f"{secret} must be left for the deployer to fill"
    # Every line uncommented, the secrets filled in, as compose would give them to the app.
    chosen = {**example, "SECRET_KEY": "stand-in-" + "x" * 50, "SECRET_KEY_FALLBACKS": ""}
    production = {"DEBUG": "false", "EMBEDDED_SERVICES": "true", "DATABASE_URL": ""}
    settings_module = load_settings(monkeypatch, **{**chosen, **production})
    assert settings_module["EMAIL_PORT"] == int(example["EMAIL_PORT"])


def test_the_compose_file_passes_the_compose_specification():
    assert compose_spec.problems(ROOT / "docker-compose.yml") == []


def test_the_compose_specification_check_catches_a_mistake(tmp_path):
    broken = _compose()
    broken["services"]["worker"]["helthcheck"] = broken["services"]["worker"].pop("healthcheck")
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    assert any("helthcheck" in problem for problem in compose_spec.problems(path))


# --- Healthchecks that mean something -----------------------------------------------------


def _healthcheck(service: str) -> str:
    return " ".join(_compose()["services"][service]["healthcheck"]["test"])


def test_the_workers_healthcheck_pings_its_own_node():
    # With two workers, a ping to all passes while one of them is dead.
    test = _compose()["services"]["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"  # the shell expands $HOSTNAME, the container's
    assert "celery -A config inspect ping -d celery@$$HOSTNAME" in test[1]


def test_the_beats_healthcheck_pings_beat_which_answers_only_while_it_ticks(settings):
    test = _compose()["services"]["beat"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "celery -A config inspect ping -d celerybeat@$$HOSTNAME" in test[1]
    assert settings.CELERY_BEAT_ENABLE_REMOTE_CONTROL is True


def test_the_webs_healthcheck_is_readiness_not_the_dispatcher():
    assert "http://127.0.0.1:8000/healthz'" in _healthcheck("web")


# --- The image ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "var/db.sqlite3",
        "var/sms/sent.jsonl",
        ".git/config",
        ".env",
        "test-artifacts/e2e-failures/page.html",
        ".pytest_cache/v/cache",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/x",
        "booking/__pycache__/models.cpython-311.pyc",
        "staticfiles/app.css",
        "control/celery.exchange",
    ],
)
def test_the_image_leaves_out_local_files_and_secrets(path):
    assert dockerignore_excludes(path), f"COPY . . would put {path} in the image"


@pytest.mark.parametrize("path", ["manage.py", "booking/models.py", ".env.example"])
def test_the_image_keeps_the_code(path):
    assert not dockerignore_excludes(path)


def dockerignore_excludes(path: str) -> bool:
    """Whether .dockerignore leaves `path` out (its patterns, the last matching one wins)."""
    excluded = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        keep = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            excluded = not keep
    return excluded
