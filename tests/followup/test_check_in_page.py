"""The patient's check-in page: the questions, thanks (and "call the clinic now" after a red
flag), replacing within a day then the locked answer, bad input, and links that are not
valid any more. Server-rendered: no JavaScript needed."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.urls import reverse

from booking.links import manage_token
from followup.checkins import AnswerDetails, check_in_token, record_answer
from followup.models import (
    Alert,
    AnswerRoute,
    CheckIn,
    CheckInAnswer,
    CheckInState,
)
from tests.factories import PatientFactory, episode_after_procedure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # Tuesday 1 December, 10:00 in New York
DAY_3_DUE = datetime(2026, 12, 4, 15, tzinfo=UTC)  # Friday 4 December, 10:00 in New York
NOW = DAY_3_DUE + timedelta(minutes=30)


def url(check_in: CheckIn) -> str:
    return reverse("followup:check_in", args=[check_in_token(check_in)])


def text(response) -> str:
    """The page's visible words, tags removed, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def good_answer(**changes) -> dict:
    return {
        "pain": "3",
        "relief_percent": "60",
        "pgic": "2",
        "side_effects": ["soreness", "bruising"],
        "warning_signs": ["none"],
        "activity": "more",
        "medication": "less",
        "comment": "Walking the dog again.",
    } | changes


class TestQuestions:
    def test_the_page_asks_every_question(self, client, day_3):
        response = client.get(url(day_3))
        assert response.status_code == 200
        html = response.content.decode()
        words = text(response)
        # Pain: eleven radio buttons 0-10 in a fieldset with a legend, and the anchors.
        assert len(re.findall(r'<input type="radio" name="pain"', html)) == 11
        for n in range(11):
            assert f'name="pain" value="{n}"' in html
        assert re.search(r"<fieldset[^>]*class=\"nrs\"", html)
        assert "<legend>How bad is your pain right now?</legend>" in html
        assert "0 = no pain" in words
        assert "10 = worst pain imaginable" in words
        # Relief: an optional whole number 0-100.
        assert re.search(r'<input type="number" name="relief_percent"[^>]*min="0"', html)
        assert 'max="100"' in html
        # PGIC: seven options, from very much improved to very much worse.
        assert len(re.findall(r'name="pgic"', html)) == 7
        assert "Very much improved" in words
        assert "Very much worse" in words
        # Common effects: a checkbox each, and the note that a flare and flushing are expected.
        assert re.findall(r'type="checkbox" name="side_effects" value="(\w+)"', html) == [
            "soreness",
            "bruising",
            "flushing",
            "other",
        ]
        assert "A flare of pain in the first 48 hours is expected" in words
        assert "facial flushing for a few days after a steroid" in words
        # Warning signs: every sign in a group of their own, then "None of these".
        group = html.split('<div class="warning-signs">')[1].split("</fieldset>")[0]
        assert "<legend>Since the injection, have you had any of these warning signs?" in group
        assert re.findall(r'type="checkbox" name="warning_signs" value="(\w+)"', group) == [
            "fever",
            "redness",
            "pus",
            "weakness",
            "numbness",
            "chest",
            "rash",
            "allergy",
            "severe_headache",
            "positional_headache",
            "bowel_bladder",
            "none",
        ]
        for label in (
            "Fever or chills",
            "Pus or discharge from the injection site",
            "Chest pain or breathlessness",
            "Hives, or swelling of the face, lips or throat",
            "A severe headache",
            "Loss of bowel or bladder control",
            "None of these",
        ):
            assert label in group
        assert 'value="warning_sign"' not in group  # a text's Y is never offered
        for name, count in (("activity", 3), ("medication", 3)):
            assert len(re.findall(rf'name="{name}"', html)) == count
        assert '<textarea name="comment"' in html
        assert "csrfmiddlewaretoken" in html

    def test_it_works_without_javascript(self, client, day_3):
        html = client.get(url(day_3)).content.decode()
        assert "<script" not in html
        assert re.search(r'<form method="post"', html)
        assert re.search(r'<button type="submit"', html)

    def test_it_says_the_day_and_the_injection_date(self, client, day_3):
        words = text(client.get(url(day_3)))
        assert "It is 3 days since your injection on Tuesday, December 1." in words

    def test_it_shows_only_the_patients_own_previous_score(self, client, episode, day_3, clock):
        day_1 = episode.check_ins.get(day=1)
        assert "Last time you said" not in text(client.get(url(day_3)))
        clock.move_to(day_1.due_at)
        client.post(url(day_1), good_answer(pain="5"))
        clock.move_to(DAY_3_DUE)
        words = text(client.get(url(day_3)))
        assert "Last time you said 5 out of 10." in words
        # Nothing else of before: not the baseline, not other answers.
        assert "6 out of 10" not in words
        assert "Walking the dog" not in words

    def test_the_page_names_nothing_clinical_about_anyone_else(self, client, day_3):
        other = episode_after_procedure(
            patient=PatientFactory(first_name="Bea", last_name="Other"), performed_at=PERFORMED
        )
        words = text(client.get(url(other.check_ins.get(day=3))))
        assert "Ana" not in words
        assert "Silva" not in words


class TestAnswering:
    def test_an_answer_is_stored_by_the_web_route_and_thanked(self, client, day_3):
        response = client.post(url(day_3), good_answer())
        assert response.status_code == 302
        assert response["Location"] == url(day_3)
        stored = CheckInAnswer.objects.get(check_in=day_3)
        assert stored.pain == 3
        assert stored.relief_percent == 60
        assert stored.pgic == 2
        assert stored.side_effects == ["bruising", "none", "soreness"]
        assert (stored.activity, stored.medication) == ("more", "less")
        assert stored.comment == "Walking the dog again."
        assert stored.route == AnswerRoute.WEB
        assert stored.answered_at == DAY_3_DUE + timedelta(minutes=30)
        assert stored.late is False
        day_3.refresh_from_db()
        assert day_3.state == CheckInState.ANSWERED

        thanks = client.get(url(day_3))
        words = text(thanks)
        assert "Thank you for your answer" in words
        assert "Please call the clinic now" not in words
        assert "3 out of 10" in words
        assert "Much improved" in words
        assert "Side effects Soreness where the needle went in; Bruising" in words
        assert "Warning signs None of these" in words

    def test_only_the_pain_and_the_warning_signs_are_required(self, client, day_3):
        response = client.post(url(day_3), {"pain": "0", "warning_signs": ["none"]})
        assert response.status_code == 302
        stored = CheckInAnswer.objects.get()
        assert (stored.pain, stored.relief_percent, stored.pgic) == (0, None, None)
        assert (stored.side_effects, stored.activity, stored.medication) == (["none"], "", "")
        words = text(client.get(url(day_3)))
        assert "Side effects None ticked" in words
        assert "Warning signs None of these" in words

    def test_a_red_flag_tells_the_patient_to_call_the_clinic_now(self, client, day_3):
        response = client.post(url(day_3), good_answer(warning_signs=["fever"]), follow=True)
        assert response.status_code == 200
        words = text(response)
        assert "Please call the clinic now" in words
        assert "(860) 555-0100" in words
        assert 'href="tel:+18605550100"' in response.content.decode()
        assert "Warning signs Fever or chills" in words
        assert Alert.objects.get().reasons == ["Fever or chills"]

    def test_pus_a_rash_and_a_severe_headache_are_red_flags(self, client, day_3):
        signs = ["pus", "rash", "severe_headache"]
        response = client.post(url(day_3), good_answer(warning_signs=signs), follow=True)
        assert "Please call the clinic now" in text(response)
        assert Alert.objects.get().reasons == [
            "Pus or discharge from the site (possible infection)",
            "Severe headache",
            "A rash",
        ]

    def test_a_flare_after_day_2_is_a_red_flag_too(self, client, day_3):
        response = client.post(url(day_3), {"pain": "9", "warning_signs": ["none"]}, follow=True)
        assert "Please call the clinic now" in text(response)

    def test_a_flare_on_day_1_is_expected(self, client, episode, clock):
        day_1 = episode.check_ins.get(day=1)
        clock.move_to(day_1.due_at)
        response = client.post(url(day_1), {"pain": "10", "warning_signs": ["none"]}, follow=True)
        assert "Please call the clinic now" not in text(response)
        assert not Alert.objects.exists()

    def test_a_late_answer_within_the_grace_is_kept_and_marked_late(self, client, day_3, clock):
        clock.move_to(day_3.expires_at + timedelta(hours=5))
        assert client.get(url(day_3)).status_code == 200
        assert client.post(url(day_3), good_answer(pain="4")).status_code == 302
        assert CheckInAnswer.objects.get().late is True

    def test_an_answer_by_text_with_only_a_score_shows_the_warning_signs_not_answered(
        self, client, day_3
    ):
        record_answer(check_in=day_3, answer=AnswerDetails(pain=4), route=AnswerRoute.SMS)
        words = text(client.get(url(day_3)))
        assert "4 out of 10" in words
        assert "Warning signs Not answered" in words
        assert "None of these" not in words


class TestReplaceThenLock:
    def test_within_24_hours_the_page_offers_a_change_that_replaces_the_answer(
        self, client, day_3, clock
    ):
        client.post(url(day_3), good_answer(pain="7"))
        first = CheckInAnswer.objects.get()

        clock.shift(timedelta(hours=5))
        words = text(client.get(url(day_3)))
        # First answered Friday 4 December at 10:30 EST: changeable for a day.
        assert "You can change your answer until Saturday, December 5 at 10:30 AM (EST)" in words
        form = client.get(url(day_3) + "?change=1")
        html = form.content.decode()
        assert re.search(r'name="pain" value="7"[^>]* checked>', html)
        assert re.search(r'name="warning_signs" value="none"[^>]* checked>', html)
        assert "Walking the dog again." in html
        assert "You can change it until Saturday, December 5 at 10:30 AM" in text(form)

        response = client.post(url(day_3), good_answer(pain="2", comment=""))
        assert response.status_code == 302
        stored = CheckInAnswer.objects.get()
        assert stored.pk == first.pk
        assert (stored.pain, stored.comment) == (2, "")
        assert stored.first_answered_at == first.first_answered_at
        assert stored.answered_at == first.answered_at + timedelta(hours=5)

    def test_after_24_hours_the_page_shows_the_locked_answer(self, client, day_3, clock):
        client.post(url(day_3), good_answer(pain="7"))
        clock.shift(timedelta(hours=24, minutes=1))

        for page in (url(day_3), url(day_3) + "?change=1"):
            response = client.get(page)
            assert response.status_code == 200
            words = text(response)
            assert "7 out of 10" in words
            assert "can no longer be changed online" in words
            assert 'name="pain"' not in response.content.decode()

        refused = client.post(url(day_3), good_answer(pain="1"))
        assert refused.status_code == 409
        assert "was already locked" in text(refused)
        assert CheckInAnswer.objects.get().pain == 7


class TestBadInput:
    @pytest.mark.parametrize("pain", ["11", "-1", "4.5", "seven", "", " ", "10.0", "1e1"])
    def test_a_pain_that_is_not_0_to_10_is_an_error_and_nothing_is_saved(self, client, day_3, pain):
        response = client.post(url(day_3), good_answer(pain=pain))
        assert response.status_code == 400
        html = response.content.decode()
        # In the summary at the top, linking to the question ...
        summary = html.split('class="error-summary"')[1].split("</div>")[0]
        assert 'href="#id_pain"' in summary
        assert "Choose a whole number from 0 (no pain) to 10" in summary
        # ... and next to the question, which points to it.
        fieldset = html.split('<fieldset id="id_pain"')[1].split("</fieldset>")[0]
        assert 'id="id_pain_error"' in fieldset
        assert "id_pain_error" in fieldset.split(">")[0]
        assert not CheckInAnswer.objects.exists()
        day_3.refresh_from_db()
        assert day_3.state == CheckInState.SCHEDULED

    def test_a_missing_pain_is_an_error(self, client, day_3):
        data = good_answer()
        del data["pain"]
        response = client.post(url(day_3), data)
        assert response.status_code == 400
        assert not CheckInAnswer.objects.exists()

    @pytest.mark.parametrize("relief", ["101", "-5", "50.5", "lots"])
    def test_a_relief_that_is_not_0_to_100_is_an_error(self, client, day_3, relief):
        response = client.post(url(day_3), good_answer(relief_percent=relief))
        assert response.status_code == 400
        html = response.content.decode()
        assert 'href="#id_relief_percent"' in html
        assert 'id="id_relief_percent_error"' in html
        assert "Give a whole number from 0 to 100" in html
        assert 'aria-invalid="true"' in html
        assert not CheckInAnswer.objects.exists()

    def test_what_was_typed_is_kept_when_sent_back(self, client, day_3):
        response = client.post(url(day_3), good_answer(relief_percent="101"))
        html = response.content.decode()
        assert 'value="101"' in html
        assert re.search(r'name="pain" value="3"[^>]* checked>', html)
        assert "Walking the dog again." in html

    @pytest.mark.parametrize(
        ("signs", "message"),
        [
            ([], "Tick each warning sign you have had, or “None of these”."),
            (
                ["none", "fever"],
                "Tick the warning signs you have had, or “None of these”, not both.",
            ),
        ],
    )
    def test_the_warning_signs_need_signs_or_none_of_these_but_not_both(
        self, client, day_3, signs, message
    ):
        response = client.post(url(day_3), good_answer(warning_signs=signs))
        assert response.status_code == 400
        html = response.content.decode()
        # In the summary, linking to the group of checkboxes ...
        summary = html.split('class="error-summary"')[1].split("</div>")[0]
        assert 'href="#id_warning_signs"' in summary
        assert message in summary
        # ... and in the group's fieldset, which points to it.
        group = html.split('<div class="warning-signs">')[1].split("</fieldset>")[0]
        assert 'id="id_warning_signs_error"' in group
        assert "id_warning_signs_error" in group.split(">")[0]  # the fieldset's own tag
        assert message in group
        # What was ticked is kept.
        for sign in signs:
            assert re.search(rf'name="warning_signs" value="{sign}"[^>]* checked>', html)
        assert not CheckInAnswer.objects.exists()
        day_3.refresh_from_db()
        assert day_3.state == CheckInState.SCHEDULED

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("pgic", "8"),
            ("pgic", "0"),
            ("side_effects", "bogus"),
            ("side_effects", "fever"),  # a warning sign, asked in its own question
            ("warning_signs", "soreness"),
            ("warning_signs", "warning_sign"),  # only a text stores a Y
            ("activity", "sometimes"),
            ("medication", "none"),
            ("comment", "x" * 2001),
        ],
    )
    def test_other_answers_outside_their_choices_are_errors(self, client, day_3, field, value):
        response = client.post(url(day_3), good_answer(**{field: value}))
        assert response.status_code == 400
        assert f'href="#id_{field}"' in response.content.decode()
        assert not CheckInAnswer.objects.exists()


class TestLinksThatShowNothing:
    def _assert_invalid_page(self, response) -> None:
        assert response.status_code == 404
        words = text(response)
        assert "This link is not valid any more" in words
        for private in ("Ana", "Silva", "Main Street", "lumbar", "Lumbar"):
            assert private not in words

    @pytest.mark.parametrize(
        "make_token",
        [
            lambda row: check_in_token(row)[:-3] + "abc",  # tampered
            lambda row: manage_token(row.episode.procedure.appointment),  # another purpose
            lambda row: signing.dumps(row.pk, salt="booking.appointment.manage"),  # foreign
            lambda row: signing.dumps(row.pk + 999, salt="followup.check_in"),  # unknown
            lambda row: "nonsense",
        ],
    )
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_a_link_we_did_not_make(self, client, day_3, make_token, method):
        page = reverse("followup:check_in", args=[make_token(day_3)])
        self._assert_invalid_page(getattr(client, method)(page, good_answer()))
        assert not CheckInAnswer.objects.exists()

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_a_cancelled_check_in(self, client, day_3, method):
        CheckIn.objects.filter(pk=day_3.pk).update(state=CheckInState.CANCELLED)
        self._assert_invalid_page(getattr(client, method)(url(day_3), good_answer()))
        assert not CheckInAnswer.objects.exists()

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_a_check_in_past_its_grace(self, client, day_3, clock, method):
        clock.move_to(day_3.expires_at + timedelta(hours=72, minutes=1))
        self._assert_invalid_page(getattr(client, method)(url(day_3), good_answer()))
        assert not CheckInAnswer.objects.exists()

    def test_a_check_in_closed_by_a_new_procedure_before_it_was_answered(
        self, client, episode, day_3, patient, clock
    ):
        clock.move_to(day_3.due_at + timedelta(hours=2))
        episode_after_procedure(patient=patient, performed_at=day_3.due_at + timedelta(hours=1))
        self._assert_invalid_page(client.post(url(day_3), good_answer()))

    def test_other_methods_are_not_allowed(self, client, day_3):
        assert client.put(url(day_3)).status_code == 405
