"""The check-in API a patient app uses: GET the questions and the state, POST the answer.
No login (the signed link is the key), rate limited, documented; 400 for bad input, 404 for
a link we did not make, 410 for a closed check-in, 409 for a locked answer."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.test import override_settings
from rest_framework.test import APIClient

from booking.api.throttling import PublicRateThrottle
from booking.links import manage_token
from followup.checkins import AnswerDetails, check_in_token, record_answer
from followup.models import Alert, AnswerRoute, CheckIn, CheckInAnswer, CheckInState
from tests.factories import episode_after_procedure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERFORMED = datetime(2026, 12, 1, 15, tzinfo=UTC)  # Tuesday 1 December, 10:00 in New York
DAY_3_DUE = datetime(2026, 12, 4, 15, tzinfo=UTC)
NOW = DAY_3_DUE + timedelta(minutes=30)
INVALID = {"detail": "This link is not valid. Please call the clinic."}
CLOSED = {"detail": "This check-in no longer takes answers. Please call the clinic if you need to."}


@pytest.fixture
def api():
    # As an app calls it: no session, and CSRF would be enforced if a session were used.
    return APIClient(enforce_csrf_checks=True)


def path(check_in: CheckIn) -> str:
    return f"/api/v1/check-ins/{check_in_token(check_in)}/"


def post(api, check_in: CheckIn, payload: dict):
    return api.post(path(check_in), payload, format="json")


FULL = {
    "pain": 3,
    "relief_percent": 60,
    "pgic": 2,
    "side_effects": ["soreness"],
    "warning_signs": ["none"],
    "activity": "more",
    "medication": "less",
    "comment": "Walking the dog again.",
}
REQUIRED = {"pain": 0, "warning_signs": ["none"]}


class TestState:
    def test_get_gives_the_questions_and_the_state(self, api, day_3):
        response = api.get(path(day_3))
        assert response.status_code == 200
        body = response.json()
        assert {k: body[k] for k in ("day", "status", "answered", "answer")} == {
            "day": 3,
            "status": "open",
            "answered": False,
            "answer": None,
        }
        # Times carry the location's offset: 10:00 in New York.
        assert body["due_at"] == "2026-12-04T10:00:00-05:00"
        assert body["expires_at"] == "2026-12-07T10:00:00-05:00"
        assert body["answerable_until"] == "2026-12-10T10:00:00-05:00"
        assert body["can_change_until"] is None
        assert body["previous_pain"] is None
        assert body["clinic_phone"] == "+18605550100"
        assert "first 48 hours" in body["expected_after_injection"]

        questions = {q["name"]: q for q in body["questions"]}
        assert list(questions) == [
            "pain",
            "relief_percent",
            "pgic",
            "side_effects",
            "warning_signs",
            "activity",
            "medication",
            "comment",
        ]
        pain = questions["pain"]
        assert (pain["type"], pain["required"], pain["min"], pain["max"]) == ("scale", True, 0, 10)
        assert pain["anchors"] == {"0": "no pain", "10": "worst pain imaginable"}
        assert (questions["relief_percent"]["min"], questions["relief_percent"]["max"]) == (0, 100)
        assert [c["value"] for c in questions["pgic"]["choices"]] == [1, 2, 3, 4, 5, 6, 7]
        assert questions["pgic"]["choices"][0]["label"] == "Very much improved"
        assert [c["value"] for c in questions["side_effects"]["choices"]] == [
            "soreness",
            "bruising",
            "flushing",
            "other",
        ]
        signs = questions["warning_signs"]
        assert (signs["type"], signs["required"]) == ("multiple_choice", True)
        assert "warning signs" in signs["label"]
        assert [c["value"] for c in signs["choices"]] == [
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
        assert signs["choices"][-1]["label"] == "None of these"
        assert [c["value"] for c in questions["activity"]["choices"]] == ["more", "same", "less"]
        assert [c["value"] for c in questions["medication"]["choices"]] == ["less", "same", "more"]
        assert [name for name, q in questions.items() if q["required"]] == [
            "pain",
            "warning_signs",
        ]

    def test_the_state_names_no_one(self, api, day_3):
        text = api.get(path(day_3)).content.decode()
        for private in ("Ana", "Silva", "Main Street", "lumbar", "+18605550123"):
            assert private not in text

    def test_the_previous_pain_is_the_patients_own(self, api, episode, day_3, clock):
        day_1 = episode.check_ins.get(day=1)
        clock.move_to(day_1.due_at)
        post(api, day_1, {"pain": 5, "warning_signs": ["none"]})
        clock.move_to(NOW)
        assert api.get(path(day_3)).json()["previous_pain"] == 5


class TestAnswer:
    def test_post_stores_the_answer_and_returns_it(self, api, day_3):
        response = post(api, day_3, FULL)
        assert response.status_code == 201
        body = response.json()
        assert body == {
            "day": 3,
            **FULL,
            "route": "web",
            "answered_at": "2026-12-04T10:30:00-05:00",
            "late": False,
            "can_change_until": "2026-12-05T10:30:00-05:00",
            "red_flags": [],
            "call_clinic": None,
        }
        stored = CheckInAnswer.objects.get(check_in=day_3)
        assert (stored.pain, stored.route, stored.answered_at) == (3, "web", NOW)
        day_3.refresh_from_db()
        assert day_3.state == CheckInState.ANSWERED

    def test_only_the_pain_and_the_warning_signs_are_required(self, api, day_3):
        body = post(api, day_3, REQUIRED).json()
        assert (body["pain"], body["relief_percent"], body["pgic"]) == (0, None, None)
        assert (body["side_effects"], body["warning_signs"]) == ([], ["none"])
        assert (body["activity"], body["medication"]) == ("", "")
        assert CheckInAnswer.objects.get().side_effects == ["none"]

    def test_nulls_for_the_optional_numbers_are_accepted(self, api, day_3):
        response = post(api, day_3, REQUIRED | {"relief_percent": None, "pgic": None})
        assert response.status_code == 201

    def test_a_red_flag_says_to_call_the_clinic(self, api, day_3):
        response = post(api, day_3, {"pain": 9, "warning_signs": ["fever"]})
        assert response.status_code == 201
        body = response.json()
        assert body["warning_signs"] == ["fever"]
        assert body["red_flags"] == ["Fever or chills", "Pain 9/10, 3 above baseline"]
        assert body["call_clinic"] == "+18605550100"
        assert Alert.objects.get().reasons == body["red_flags"]

    def test_chest_pain_is_a_red_flag_after_a_thoracic_injection_only(self, api, patient):
        for site, flags in (
            ("thoracic", ["Chest pain or breathlessness (possible pneumothorax)"]),
            ("lumbar", []),
        ):
            episode = episode_after_procedure(
                site_slug=site, patient=patient, performed_at=PERFORMED, pain_before=6
            )
            body = post(api, episode.check_ins.get(day=3), {"pain": 3, "warning_signs": ["chest"]})
            assert (body.json()["red_flags"], body.status_code) == (flags, 201)

    def test_an_answer_by_text_with_only_a_score_has_the_warning_signs_not_answered(
        self, api, day_3
    ):
        record_answer(check_in=day_3, answer=AnswerDetails(pain=4), route=AnswerRoute.SMS)
        answer = api.get(path(day_3)).json()["answer"]
        assert (answer["pain"], answer["side_effects"], answer["warning_signs"]) == (4, [], [])

    def test_the_state_after_answering(self, api, day_3, clock):
        post(api, day_3, FULL)
        clock.shift(timedelta(hours=1))
        body = api.get(path(day_3)).json()
        assert (body["status"], body["answered"]) == ("changeable", True)
        assert body["can_change_until"] == "2026-12-05T10:30:00-05:00"
        assert body["answer"]["pain"] == 3
        assert body["answer"]["comment"] == "Walking the dog again."

    def test_a_late_answer_within_the_grace_is_marked_late(self, api, day_3, clock):
        clock.move_to(day_3.expires_at + timedelta(hours=1))
        body = post(api, day_3, REQUIRED | {"pain": 4}).json()
        assert body["late"] is True


class TestReplaceThenLock:
    def test_a_second_post_within_24_hours_replaces_the_answer(self, api, day_3, clock):
        post(api, day_3, FULL)
        clock.shift(timedelta(hours=23, minutes=59))
        response = post(api, day_3, {"pain": 2, "warning_signs": ["rash"]})
        assert response.status_code == 200  # replaced, not created
        body = response.json()
        assert (body["pain"], body["side_effects"], body["comment"]) == (2, [], "")
        assert (body["warning_signs"], body["red_flags"]) == (["rash"], ["A rash"])
        assert body["can_change_until"] == "2026-12-05T10:30:00-05:00"  # not extended
        assert CheckInAnswer.objects.count() == 1

    def test_after_24_hours_it_is_409_and_the_answer_stands(self, api, day_3, clock):
        post(api, day_3, FULL)
        clock.shift(timedelta(hours=24, seconds=1))
        response = post(api, day_3, REQUIRED | {"pain": 1})
        assert response.status_code == 409
        assert "locked" in response.json()["detail"]
        assert CheckInAnswer.objects.get().pain == 3
        state = api.get(path(day_3)).json()
        assert state["status"] == "locked"
        assert state["answer"]["pain"] == 3

    def test_a_locked_answer_is_409_even_with_bad_input(self, api, day_3, clock):
        post(api, day_3, FULL)
        clock.shift(timedelta(days=2))
        assert post(api, day_3, {"pain": 11}).status_code == 409


class TestBadInput:
    @pytest.mark.parametrize(
        "pain", [11, -1, 4.5, "4.5", "seven", "", None, True, [3], {"value": 3}]
    )
    def test_a_pain_that_is_not_a_whole_number_0_to_10_is_400(self, api, day_3, pain):
        response = post(api, day_3, FULL | {"pain": pain})
        assert response.status_code == 400
        assert list(response.json()) == ["pain"]
        assert not CheckInAnswer.objects.exists()
        day_3.refresh_from_db()
        assert day_3.state == CheckInState.SCHEDULED

    def test_a_missing_pain_is_400(self, api, day_3):
        payload = dict(FULL)
        del payload["pain"]
        response = post(api, day_3, payload)
        assert response.status_code == 400
        assert response.json() == {"pain": ["This field is required."]}

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("relief_percent", 101),
            ("relief_percent", -1),
            ("relief_percent", 50.5),
            ("relief_percent", "lots"),
            ("pgic", 8),
            ("pgic", 0),
            ("pgic", "much improved"),
            ("side_effects", "fever"),
            ("side_effects", ["bogus"]),
            ("side_effects", ["fever"]),  # a warning sign, asked in its own question
            ("warning_signs", ["soreness"]),
            ("warning_signs", ["warning_sign"]),  # only a text stores a Y
            ("warning_signs", "none"),
            ("warning_signs", None),
            ("activity", "sometimes"),
            ("medication", "none"),
            ("comment", "x" * 2001),
        ],
    )
    def test_other_fields_outside_their_range_are_400(self, api, day_3, field, value):
        response = post(api, day_3, FULL | {field: value})
        assert response.status_code == 400
        assert list(response.json()) == [field]
        assert not CheckInAnswer.objects.exists()

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
        self, api, day_3, signs, message
    ):
        response = post(api, day_3, FULL | {"warning_signs": signs})
        assert response.status_code == 400
        assert response.json() == {"warning_signs": [message]}
        assert not CheckInAnswer.objects.exists()

    def test_missing_warning_signs_are_400_with_the_same_words(self, api, day_3):
        response = post(api, day_3, {"pain": 4})
        assert response.status_code == 400
        assert response.json() == {
            "warning_signs": ["Tick each warning sign you have had, or “None of these”."]
        }
        assert not CheckInAnswer.objects.exists()

    def test_several_bad_fields_are_reported_together(self, api, day_3):
        response = post(api, day_3, {"pain": 11, "relief_percent": 101})
        assert response.status_code == 400
        assert set(response.json()) == {"pain", "relief_percent", "warning_signs"}


class TestLinks:
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
    def test_a_link_we_did_not_make_is_404(self, api, day_3, make_token, method):
        response = getattr(api, method)(
            f"/api/v1/check-ins/{make_token(day_3)}/", FULL, format="json"
        )
        assert response.status_code == 404
        assert response.json() == INVALID
        assert not CheckInAnswer.objects.exists()

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_a_cancelled_check_in_is_410(self, api, day_3, method):
        CheckIn.objects.filter(pk=day_3.pk).update(state=CheckInState.CANCELLED)
        response = getattr(api, method)(path(day_3), FULL, format="json")
        assert response.status_code == 410
        assert response.json() == CLOSED
        assert not CheckInAnswer.objects.exists()

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_a_check_in_past_its_grace_is_410(self, api, day_3, clock, method):
        clock.move_to(day_3.expires_at + timedelta(hours=72, seconds=1))
        response = getattr(api, method)(path(day_3), FULL, format="json")
        assert response.status_code == 410
        assert response.json() == CLOSED

    def test_a_check_in_closed_by_a_new_procedure_is_410(self, api, day_3, patient, clock):
        clock.move_to(day_3.due_at + timedelta(hours=2))
        episode_after_procedure(patient=patient, performed_at=day_3.due_at + timedelta(hours=1))
        assert post(api, day_3, FULL).status_code == 410


def test_it_needs_no_login_and_ignores_a_session(api, day_3, clinician_user):
    api.force_login(clinician_user)  # a session without a CSRF token must not matter
    assert post(api, day_3, REQUIRED).status_code == 201


def test_it_is_rate_limited_per_address(api, day_3, monkeypatch):
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {"public": "3/min"})
    statuses = [api.get(path(day_3)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert post(api, day_3, REQUIRED).status_code == 429
    assert not CheckInAnswer.objects.exists()
    assert api.get(path(day_3), REMOTE_ADDR="203.0.113.9").status_code == 200


def test_the_schema_documents_the_endpoint_with_examples(api):
    schema = APIClient().get("/api/schema/?format=json").json()
    operations = schema["paths"]["/api/v1/check-ins/{token}/"]
    assert set(operations) >= {"get", "post"}
    assert {"200", "404", "410"} <= set(operations["get"]["responses"])
    assert {"201", "200", "400", "404", "409", "410"} <= set(operations["post"]["responses"])
    assert "examples" in operations["post"]["requestBody"]["content"]["application/json"]
    assert "examples" in operations["post"]["responses"]["201"]["content"]["application/json"]
    assert operations["post"].get("security", [{}]) == [{}]  # no login


@override_settings(CHECK_IN_EDIT_WINDOW_HOURS=36)
def test_the_schema_states_the_edit_window_of_the_settings():
    schema = APIClient().get("/api/schema/?format=json").json()
    locked = schema["paths"]["/api/v1/check-ins/{token}/"]["post"]["responses"]["409"]
    assert locked["description"] == (
        "This check-in was answered more than 36 hours ago: the answer stands."
    )
