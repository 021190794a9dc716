"""The README's table of settings ("Configure it") is every variable the code reads."""

import os
import re
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "config" / "settings.py"

# Read by the Makefile and the Procfile (PORT) or by docker-compose.yml only, not the app.
OUTSIDE_THE_APP = {
    "PORT": ["Makefile", "Procfile"],
    "SITE_HOST": ["docker-compose.yml"],
    "POSTGRES_PASSWORD": ["docker-compose.yml"],
}


def documented_variables() -> set[str]:
    """The names in the first column of the README's "Configure it" table."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configure it", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


class RecordingEnviron(dict):
    """The process environment, noting each name config/settings.py reads from it (not the
    names the libraries it imports read)."""

    def __init__(self, environ: dict[str, str]):
        super().__init__(environ)
        self.read: set[str] = set()

    def _note(self, name: str) -> None:
        if sys._getframe(2).f_code.co_filename == str(SETTINGS):
            self.read.add(name)

    def get(self, name, default=None):
        self._note(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self._note(name)
        return super().__getitem__(name)

    def __contains__(self, name):
        self._note(name)
        return super().__contains__(name)


def variables_read(monkeypatch: pytest.MonkeyPatch, **variables: str) -> set[str]:
    environ = RecordingEnviron({**os.environ, **variables})
    monkeypatch.setattr(os, "environ", environ)
    runpy.run_path(str(SETTINGS))
    return environ.read


def test_the_readme_documents_every_variable_the_settings_read_and_no_other(monkeypatch):
    # Development and production take different branches (DEBUG, the static manifest).
    read = variables_read(monkeypatch, DEBUG="true") | variables_read(
        monkeypatch, DEBUG="false", SECRET_KEY="x", EMBEDDED_SERVICES="true"
    )
    documented = documented_variables()
    assert len(documented) > 50, "the README's table was not found"
    assert read - documented == set(), "read by config/settings.py, missing from the README"
    assert documented - read == set(OUTSIDE_THE_APP), "in the README, read by nothing"


@pytest.mark.parametrize(("variable", "files"), sorted(OUTSIDE_THE_APP.items()))
def test_the_variables_outside_the_app_are_read_where_the_readme_says(variable, files):
    for name in files:
        assert re.search(rf"\b{variable}\b", (ROOT / name).read_text()), f"{variable} in {name}"


def test_the_app_reads_the_environment_only_through_the_settings():
    readers = [
        str(path.relative_to(ROOT))
        for folder in ("booking", "followup", "config")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"os\.environ\b(?!\.setdefault)|os\.getenv|getenv\(", path.read_text())
        and path.name not in {"settings.py", "settings_test.py"}
    ]
    assert readers == []
