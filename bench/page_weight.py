"""Page weight: the bytes (HTML, CSS, JavaScript, other) and requests of each patient page.

    .venv/bin/python -m bench.page_weight                       # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/painclinic \\
        .venv/bin/python -m bench.page_weight                   # PostgreSQL

It never touches the developer's data: it creates its own throwaway test database
(`bench_page_weight` on PostgreSQL, a temporary file on SQLite), seeds the demo clinic,
walks a patient's booking with Django's test client (home, choose time, details, review,
booked, manage, reschedule) and opens a check-in, then destroys the database.

For each page: the HTML as served, and each file the page makes a browser fetch
(stylesheets, scripts, icons, images) read from the static files; bytes uncompressed and
gzipped (level 6, as a web server would send them), and the number of requests on a first
visit with an empty cache. Every page shares the same stylesheet and icon, so a visit after
the first costs the HTML alone.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"

import django

django.setup()

import argparse  # noqa: E402
import gzip  # noqa: E402
import html  # noqa: E402
import importlib  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles import finders  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.day_view import table  # noqa: E402

# Files a page makes the browser fetch: <link href> (stylesheets, icons), <script src>, <img src>.
FETCHED = re.compile(r'<(?:link[^>]*\bhref|script[^>]*\bsrc|img[^>]*\bsrc)="([^"]+)"')
SAFE_ANSWERS = {
    **{
        f"safety-{name}": "False"
        for name in (
            "takes_blood_thinners",
            "allergy_local_anaesthetic",
            "allergy_steroid",
            "allergy_latex",
            "allergy_iodine",
            "diabetes",
            "infection_or_fever",
            "recent_steroid_injection",
        )
    },
    "safety-blood_thinner_names": "",
    "safety-pregnancy": "not_applicable",
    "safety-has_driver": "True",
}
PATIENT = {
    "patient-first_name": "Ana",
    "patient-last_name": "Silva",
    "patient-date_of_birth": "1971-04-12",
    "patient-email": "ana.weight@example.org",
    "patient-phone": "",
    "patient-baseline_pain": "6",
    "patient-reminders_email": "on",
    **SAFE_ANSWERS,
}


@dataclass(frozen=True)
class Weight:
    page: str
    path: str
    html: bytes
    files: dict[str, bytes]  # what the page fetches, by URL

    def _kind(self, suffix: str | None) -> int:
        return sum(
            len(body)
            for url, body in self.files.items()
            if (suffix is None and not url.endswith((".css", ".js")))
            or (suffix and url.endswith(suffix))
        )

    def row(self) -> list[str]:
        everything = [self.html, *self.files.values()]
        total = sum(len(body) for body in everything)
        zipped = sum(len(gzip.compress(body, 6)) for body in everything)
        return [
            self.page,
            self.path,
            f"{len(self.html):,}",
            f"{self._kind('.css'):,}",
            f"{self._kind('.js'):,}",
            f"{self._kind(None):,}",
            f"{total:,}",
            f"{zipped:,}",
            str(1 + len(self.files)),
        ]


def static_file(url: str) -> bytes:
    """A fetched file's bytes, from the static files the server would send."""
    path = url.split("?")[0]
    if not path.startswith(settings.STATIC_URL):
        raise ValueError(f"{url} is not a static file: count it by hand")
    found = finders.find(path.removeprefix(settings.STATIC_URL))
    if not found:
        raise FileNotFoundError(url)
    return Path(str(found)).read_bytes()


def weigh(client: Client, page: str, path: str, **post: str) -> Weight:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    body = response.content
    urls = dict.fromkeys(html.unescape(url) for url in FETCHED.findall(body.decode()))
    return Weight(page, path, body, {url: static_file(url) for url in urls})


def first(pattern: str, page: bytes) -> str:
    match = re.search(pattern, page.decode())
    assert match, pattern
    return html.unescape(match.group(1))


def patient_pages() -> list[Weight]:
    from booking.links import manage_token
    from booking.models import Appointment
    from followup.checkins import check_in_token
    from followup.demo import seed_demo_clinic

    # Loaded by name: the factories are test code that the type checker leaves out.
    episode_after_procedure = importlib.import_module("tests.factories").episode_after_procedure

    seed_demo_clinic()
    client = Client()
    weights = [weigh(client, "home", "/")]
    times = weigh(client, "choose time", "/book/lumbar/")
    weights.append(times)
    details_url = first(r'<a class="(?:first-)?time" href="([^"]+)"', times.html)
    weights.append(weigh(client, "details", details_url))
    assert client.post("/book/lumbar/details/", PATIENT).status_code == 302
    review = weigh(client, "review", "/book/lumbar/review/")
    weights.append(review)
    key = first(r'name="key" value="([^"]+)"', review.html)
    booked = client.post("/book/lumbar/review/", {"key": key})
    assert booked.status_code == 302, booked.content.decode()
    weights.append(weigh(client, "booked", booked["Location"]))
    token = manage_token(Appointment.objects.get(patient__email=PATIENT["patient-email"]))
    weights.append(weigh(client, "manage", f"/manage/{token}/"))
    weights.append(weigh(client, "reschedule", f"/manage/{token}/reschedule/"))
    episode = episode_after_procedure(performed_at=timezone.now() - timedelta(days=2))
    check_in = episode.check_ins.get(day=1)
    weights.append(weigh(client, "check-in", f"/check-in/{check_in_token(check_in)}/"))
    return weights


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.parse_args(argv)
    setup_test_environment()
    test_settings = connection.settings_dict["TEST"]
    scratch = None
    if connection.vendor == "sqlite":
        scratch = tempfile.TemporaryDirectory(prefix="bench-page-weight-")
        test_settings["NAME"] = str(Path(scratch.name) / "bench_page_weight.sqlite3")
    else:
        test_settings["NAME"] = "bench_page_weight"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        weights = patient_pages()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        if scratch is not None:
            scratch.cleanup()
    print("Patient pages on a first visit (bytes; gzip level 6 for the wire; requests with an")
    print("empty cache). Paths shortened: <token> is the page's signed link.")
    header = ["page", "path", "HTML", "CSS", "JS", "other", "total", "total gzipped", "requests"]
    rows = []
    for weight in weights:
        row = weight.row()
        row[1] = re.sub(r"/(manage|check-in|booked)/[^/]+/", r"/\1/<token>/", row[1]).split("?")[0]
        rows.append(row)
    print(table(header, rows))
    fetched = sorted({url for weight in weights for url in weight.files})
    print(f"Files fetched besides the HTML: {', '.join(fetched) or 'none'}.")


if __name__ == "__main__":
    main()
