"""The times page on a phone: a strip of days, one day's times by part of the day, and a
first-available shortcut; the reschedule page shows the same (issue 24).

The clock stops on Monday 30 November 2026 at 09:00 in New York; lumbar needs 24 hours'
notice and books up to 90 days ahead (to 28 February 2027).
"""

import html
import re
from datetime import UTC, date, datetime, time
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest

from booking.links import manage_token
from booking.models import AppointmentSource, Block, Site
from booking.services import PatientDetails, book_appointment
from tests.factories import BlockFactory, ClinicianFactory, LocationFactory, WorkingHoursFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
TIMES = "/book/lumbar/"
DETAILS = "/book/lumbar/details/"
DASH = "\N{EN DASH}"  # between the first and last day of the strip


def text(response) -> str:
    return html.unescape(response.content.decode())


def day_heading(page: str) -> str:
    match = re.search(r'<h2 id="day-title">([^<]+)</h2>', page)
    assert match, "no heading for the chosen day"
    return match.group(1)


def parts(page: str) -> dict[str, list[str]]:
    """The chosen day's times by part of the day, as the patient reads them."""
    section = page[page.index('<section class="day"') :]
    found: dict[str, list[str]] = {}
    for name, body in re.findall(
        r"<h3>([^<]+)</h3>\s*<ul class=\"times\">(.*?)</ul>", section, re.S
    ):
        found[name] = re.findall(r'<span class="time-of-day">([^<]+)</span>', body)
    return found


def time_hrefs(page: str) -> list[str]:
    return re.findall(r'<a class="time" href="([^"]+)">', page)


def strip(page: str) -> dict[str, str | None]:
    """Each day of the strip: its link's query (or None when it is no link), by its label."""
    cells: dict[str, str | None] = {}
    body = re.search(r'<ol class="day-strip">(.*?)</ol>', page, re.S)
    assert body
    for cell in re.findall(r"<li>(.*?)</li>", body.group(1), re.S):
        link = re.search(r'<a class="strip-day[^"]*" href="([^"]+)"[^>]*aria-label="([^"]+)"', cell)
        if link:
            cells[link.group(2)] = link.group(1)
        else:
            label = re.search(r'<span class="visually-hidden">([^<]+)</span>', cell)
            assert label, f"a day that is not a link has no label: {cell}"
            cells[label.group(1)] = None
    return cells


def first_available(page: str) -> tuple[str, dict[str, list[str]], str]:
    match = re.search(
        r'First available:\s*<a class="first-time" href="([^"]+)">([^<]+)</a>\s*'
        r'<span class="who">with ([^<]+)</span>',
        page,
    )
    assert match, "no first-available shortcut"
    parts_ = urlsplit(match.group(1))
    return match.group(2), {"path": [parts_.path], **parse_qs(parts_.query)}, match.group(3)


@pytest.fixture
def adams(clinic):
    return clinic["clinicians"][0]


@pytest.fixture
def brown(clinic):
    return clinic["clinicians"][1]


class TestTheDayStrip:
    def test_the_first_day_with_times_is_chosen(self, client, clinic):
        page = text(client.get(TIMES))

        # Monday is inside the 24 hours' notice: Tuesday is the first day with times.
        assert day_heading(page) == "Tuesday, December 1"
        assert 'aria-current="date" aria-label="Tuesday, December 1: 30 times"' in page
        assert parts(page)["Morning"][:2] == ["9:00 AM", "9:15 AM"]  # 24 hours from now
        assert f"Nov 30 {DASH} Dec 13, 2026" in page

    def test_a_day_without_times_is_not_a_link_and_says_so(self, client, clinic):
        cells = strip(text(client.get(TIMES)))

        assert len(cells) == 14
        assert cells["Monday, November 30: no free times"] is None  # inside the notice
        assert cells["Saturday, December 5: no free times"] is None
        assert cells["Sunday, December 13: no free times"] is None
        assert cells["Wednesday, December 2: 34 times"] == "?day=2026-12-02"

    def test_days_past_the_booking_window_cannot_be_booked_online(self, client, clinic):
        page = text(client.get(TIMES, {"day": "2027-02-26"}))

        cells = strip(page)
        assert cells["Friday, February 26: 34 times"] == "?day=2027-02-26"
        assert cells["Monday, March 1: cannot be booked online"] is None
        assert "Later →" not in page
        assert '<a href="?day=2027-02-08">← Earlier</a>' in page

    def test_a_day_in_the_strip_shows_that_days_times_and_the_same_strip(self, client, clinic):
        page = text(client.get(TIMES, {"day": "2026-12-09"}))

        assert day_heading(page) == "Wednesday, December 9"
        assert f"Nov 30 {DASH} Dec 13, 2026" in page
        assert 'aria-current="date" aria-label="Wednesday, December 9' in page

    def test_later_goes_to_the_next_fortnights_first_day_with_times(self, client, clinic):
        first = text(client.get(TIMES))
        assert '<a href="?day=2026-12-14">Later →</a>' in first

        later = text(client.get(TIMES, {"day": "2026-12-14"}))

        assert f"Dec 14 {DASH} Dec 27, 2026" in later
        assert day_heading(later) == "Monday, December 14"
        assert '<a href="?day=2026-11-30">← Earlier</a>' not in later
        assert '<a href="?day=2026-12-01">← Earlier</a>' in later

    def test_a_day_with_no_times_in_the_window_shows_the_way_to_the_first(self, client, clinic):
        page = text(client.get(TIMES, {"day": "2026-12-05"}))  # a Saturday

        assert day_heading(page) == "Saturday, December 5"
        assert parts(page) == {}
        assert '<a href="?day=2026-12-01">See the first day with times</a>' in page


class TestADayThatCannotBeChosen:
    """A malformed day, or one outside the booking window, falls back to the first day
    with times (not a 400: an old bookmarked link still finds times), and says so."""

    @pytest.mark.parametrize(
        "day", ["2026-11-29", "2027-03-01", "tomorrow", "2026-02-30", "2026-12-01T09:00"]
    )
    def test_it_falls_back_to_the_first_day_with_times(self, client, clinic, day):
        response = client.get(TIMES, {"day": day})

        assert response.status_code == 200
        page = text(response)
        assert day_heading(page) == "Tuesday, December 1"
        assert "That day cannot be booked online, so here is the first day with free times." in page

    def test_a_good_day_says_nothing_of_the_kind(self, client, clinic):
        page = text(client.get(TIMES, {"day": "2026-12-02"}))

        assert "cannot be booked online, so" not in page


class TestPartsOfTheDay:
    def test_morning_and_afternoon_split_at_noon(self, client, clinic, adams):
        page = text(client.get(TIMES, {"day": "2026-12-01", "clinician": adams.pk}))

        found = parts(page)
        assert list(found) == ["Morning", "Afternoon"]
        assert found["Morning"][0] == "9:00 AM"
        assert found["Morning"][-1] == "11:45 AM"
        assert found["Afternoon"][0] == "12:00 PM"
        assert found["Afternoon"][-1] == "4:15 PM"

    def test_one_link_per_time_when_any_clinician_will_do(self, client, clinic):
        page = text(client.get(TIMES, {"day": "2026-12-01"}))

        times = [at for found in parts(page).values() for at in found]
        assert len(times) == len(set(times)) == 30
        assert "Dr. Adams" in page

    def test_a_taken_time_goes_to_the_clinician_still_free(self, client, clinic, adams, brown):
        book_appointment(
            site=clinic["site"],
            start=datetime(2026, 12, 1, 14, tzinfo=UTC),
            clinician=adams,
            patient=PatientDetails("Bea", "Jones", date(1980, 1, 1), email="bea@example.org"),
            source=AppointmentSource.RECEPTION,
        )

        page = text(client.get(TIMES, {"day": "2026-12-01"}))

        [nine] = [h for h in time_hrefs(page) if "2026-12-01T09%3A00%3A00-05%3A00" in h]
        assert f"clinician={brown.pk}" in html.unescape(nine)

    def test_the_evening_has_its_own_heading(self, client, clinic, adams):
        WorkingHoursFactory(
            clinician=adams,
            location=clinic["location"],
            weekday=5,  # Saturday
            start_time=time(16),
            end_time=time(20),
        )

        page = text(client.get(TIMES, {"day": "2026-12-05", "clinician": adams.pk}))

        assert parts(page) == {
            "Afternoon": ["4:00 PM", "4:15 PM", "4:30 PM", "4:45 PM"],
            "Evening": [
                "5:00 PM", "5:15 PM", "5:30 PM", "5:45 PM", "6:00 PM", "6:15 PM", "6:30 PM",
                "6:45 PM", "7:00 PM", "7:15 PM",
            ],
        }  # fmt: skip

    def test_parts_follow_the_locations_wall_clock_not_the_servers(self, client, db):
        """Los Angeles' 11:45 AM is 2:45 PM in New York (the server's zone): still morning."""
        location = LocationFactory(name="Sunset", time_zone="America/Los_Angeles")
        thoracic = Site.objects.get(slug="thoracic")
        chen = ClinicianFactory(display_name="Dr. Chen", sites=[thoracic], locations=[location])
        WorkingHoursFactory(
            clinician=chen, location=location, weekday=1, start_time=time(8), end_time=time(17)
        )

        page = text(client.get("/book/thoracic/"))

        assert day_heading(page) == "Tuesday, December 1"
        assert "(America/Los_Angeles)" in page
        found = parts(page)
        assert found["Morning"][0] == "8:00 AM"
        assert found["Morning"][-1] == "11:45 AM"
        assert found["Afternoon"][0] == "12:00 PM"
        assert found["Afternoon"][-1] == "4:30 PM"  # 30-minute consults end by 5:00 PM


class TestADaylightSavingDay:
    """Sunday 14 March 2027 springs forward at 2 AM: the times keep their wall clock."""

    def test_the_times_of_the_day_the_clocks_change(self, client, clinic, adams, clock):
        clock.move_to(datetime(2027, 3, 12, 14, tzinfo=UTC))  # Friday 09:00 EST
        WorkingHoursFactory(
            clinician=adams,
            location=clinic["location"],
            weekday=6,
            start_time=time(10),
            end_time=time(14),
        )

        page = text(client.get(TIMES, {"day": "2027-03-14", "clinician": adams.pk}))

        assert day_heading(page) == "Sunday, March 14"
        found = parts(page)
        assert found["Morning"] == ["10:00 AM", "10:15 AM", "10:30 AM", "10:45 AM", "11:00 AM",
                                    "11:15 AM", "11:30 AM", "11:45 AM"]  # fmt: skip
        assert found["Afternoon"] == ["12:00 PM", "12:15 PM", "12:30 PM", "12:45 PM", "1:00 PM",
                                      "1:15 PM"]  # fmt: skip
        assert "start=2027-03-14T10%3A00%3A00-04%3A00" in time_hrefs(page)[0]


class TestFirstAvailable:
    def test_it_names_the_first_free_time_and_leads_to_the_details_step(self, client, clinic):
        page = text(client.get(TIMES, {"day": "2026-12-09"}))  # even when another day is open

        label, query, who = first_available(page)
        assert (label, who) == ("Tue, Dec 1, 9:00 AM", "Dr. Adams")
        assert query["path"] == [DETAILS]
        assert query["start"] == ["2026-12-01T09:00:00-05:00"]

        details = client.get(DETAILS, {k: v[0] for k, v in query.items() if k != "path"})

        assert details.status_code == 200
        assert "9:00 AM" in text(details)

    def test_it_skips_taken_times(self, client, clinic, adams, brown):
        for clinician in (adams, brown):
            BlockFactory(
                clinician=clinician,
                start=datetime(2026, 12, 1, 5, tzinfo=UTC),
                end=datetime(2026, 12, 1, 18, tzinfo=UTC),  # until 1:00 PM
                kind=Block.Kind.TIME_OFF,
                reason="Training",
            )

        label, _, _ = first_available(text(client.get(TIMES)))

        assert label == "Tue, Dec 1, 1:00 PM"

    def test_it_follows_the_clinician_filter(self, client, clinic, brown):
        label, query, who = first_available(text(client.get(TIMES, {"clinician": brown.pk})))

        assert (label, who) == ("Tue, Dec 1, 9:00 AM", "Dr. Brown")
        assert query["clinician"] == [str(brown.pk)]

    def test_without_any_free_time_there_is_no_shortcut(self, client, db):
        page = text(client.get(TIMES))  # nobody works

        assert "First available" not in page
        assert "No free times on this day. Please call the clinic." in page
        assert "Join the waitlist" in page


class TestTheClinicianFilter:
    def test_it_keeps_the_chosen_day(self, client, clinic, brown):
        page = text(client.get(TIMES, {"day": "2026-12-09"}))
        assert '<input type="hidden" name="day" value="2026-12-09">' in page

        filtered = text(client.get(TIMES, {"day": "2026-12-09", "clinician": brown.pk}))

        assert day_heading(filtered) == "Wednesday, December 9"
        assert {
            parse_qs(urlsplit(html.unescape(href)).query)["clinician"][0]
            for href in time_hrefs(filtered)
        } == {str(brown.pk)}
        assert strip(filtered)["Thursday, December 10: 34 times"] == (
            f"?clinician={brown.pk}&day=2026-12-10"
        )

    def test_a_bad_day_keeps_the_clinician(self, client, clinic, brown):
        page = text(client.get(TIMES, {"day": "soon", "clinician": brown.pk}))

        assert {"Dr. Brown"} == set(re.findall(r'<span class="who">([^<]+)</span>', page)) - {
            "with Dr. Brown"
        }


class TestHeadings:
    def test_the_headings_go_h1_then_h2_then_h3(self, client, clinic):
        levels = [int(n) for n in re.findall(r"<h([1-6])", text(client.get(TIMES)))]

        assert levels[0] == 1
        assert all(b - a <= 1 for a, b in pairwise(levels))
        assert levels[:3] == [1, 2, 2]


class TestTheReschedulePage:
    @pytest.fixture
    def token(self, clinic, brown):
        appointment = book_appointment(
            site=clinic["site"],
            start=datetime(2026, 12, 9, 14, tzinfo=UTC),  # Wednesday 9 December, 9:00 AM
            clinician=brown,
            patient=PatientDetails("Ana", "Silva", date(1971, 4, 12), email="ana@example.org"),
            source=AppointmentSource.ONLINE,
        )
        return manage_token(appointment)

    def test_it_has_the_strip_the_parts_and_the_shortcut(self, client, token, brown):
        page = text(client.get(f"/manage/{token}/reschedule/"))

        assert day_heading(page) == "Tuesday, December 1"
        assert strip(page)["Saturday, December 5: no free times"] is None
        assert list(parts(page)) == ["Morning", "Afternoon"]
        label, query, who = first_available(page)
        # The clinician already booked is kept where free at the same time.
        assert (label, who) == ("Tue, Dec 1, 9:00 AM", "Dr. Brown")
        assert query["path"] == [f"/manage/{token}/reschedule/confirm/"]

    def test_a_chosen_day_and_a_fallback(self, client, token, adams, brown):
        page = text(client.get(f"/manage/{token}/reschedule/", {"day": "2026-12-09"}))
        assert day_heading(page) == "Wednesday, December 9"
        # The patient's own 9:00 AM with Dr. Brown is not free; Dr. Adams' is.
        [nine] = [h for h in time_hrefs(page) if "2026-12-09T09%3A00%3A00" in h]
        assert f"clinician={adams.pk}" in html.unescape(nine)
        [eight] = [h for h in time_hrefs(page) if "2026-12-09T08%3A00%3A00" in h]
        assert f"clinician={brown.pk}" in html.unescape(eight)

        fallback = text(client.get(f"/manage/{token}/reschedule/", {"day": "2020-01-01"}))
        assert day_heading(fallback) == "Tuesday, December 1"
        assert "That day cannot be booked online" in fallback
