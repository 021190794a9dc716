"""Every URL that names an object, tried by everyone who might try it.

The URLs are read from the resolver, so a new one without a case here fails the first
test. Each is tried anonymously, by a logged-in non-staff account, by each staff role and
by a clinician who does not treat the patient: those it is not for get a redirect to the
login, 401 (the API, anonymously), 403 or 404, never the patient's name or email, and change
nothing. Patient links (signed tokens) show only their own patient, and tampered, expired,
foreign and other-purpose tokens are refused with a 4xx.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest
import time_machine
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from booking.feeds import feed_for, revoke_and_renew
from booking.links import MANAGE_SALT, manage_token
from booking.models import Appointment, AppointmentStatus, Patient, Site
from booking.roles import CLINIC_ADMIN, CLINICIAN, RECEPTION
from booking.waitlist import OFFER_SALT, offer_token
from followup.checkins import CHECK_IN_SALT, check_in_token
from followup.content import UNSUBSCRIBE_SALT, unsubscribe_token
from followup.models import Alert
from tests.factories import (
    AppointmentFactory,
    BlockFactory,
    ClinicianFactory,
    LocationFactory,
    PatientFactory,
    ScheduleExceptionFactory,
    UserFactory,
    WaitlistEntryFactory,
    WorkingHoursFactory,
    answer_check_in,
    episode_after_procedure,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

NOW = datetime(2026, 12, 4, 16, tzinfo=UTC)  # the day-3 check-ins of the injections are due
ZELDA = {"first_name": "Zelda", "last_name": "Quigley", "email": "zelda.quigley@example.org"}
YUSUF = {"first_name": "Yusuf", "last_name": "Barrow", "email": "yusuf.barrow@example.org"}


# --- the clinic: two patients of one clinician --------------------------------------------


@dataclass
class World:
    """Zelda's objects (the ones tried) and Yusuf's (the other patient's links)."""

    appointment: Appointment
    objects: dict[str, object] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    other_tokens: dict[str, str] = field(default_factory=dict)


def _patient_with_history(
    details: dict, clinician, location, hour: int
) -> tuple[Appointment, dict]:
    patient = PatientFactory(**details, consent_email=True)
    episode = episode_after_procedure(
        patient=patient,
        clinician=clinician,
        location=location,
        performed_at=datetime(2026, 12, 1, hour, tzinfo=UTC),
    )
    answer = answer_check_in(episode, day=1, pain=9)
    alert = Alert.objects.create(answer=answer, clinician=clinician, reasons=["fever"])
    upcoming = AppointmentFactory(
        site=Site.objects.get(slug="lumbar"),
        clinician=clinician,
        location=location,
        patient=patient,
        start=NOW + timedelta(days=6, hours=hour - 15),
    )
    arrived = episode.procedure.appointment
    arrived.status = AppointmentStatus.ARRIVED  # a visit to complete, for the staff pages
    arrived.save(update_fields=["status"])
    entry = WaitlistEntryFactory(patient=patient)
    offer = entry.offers.create(
        site=upcoming.site,
        clinician=clinician,
        location=location,
        start=NOW + timedelta(days=2),
        expires_at=NOW + timedelta(hours=2),
    )
    return upcoming, {
        "patient": patient,
        "check_in": episode.check_ins.get(day=3),
        "alert": alert,
        "arrived": arrived,
        "waitlist_entry": entry,
        "offer": offer,
    }


def _tokens(appointment: Appointment, objects: dict) -> dict[str, str]:
    return {
        "manage": manage_token(appointment),
        "check_in": check_in_token(objects["check_in"]),
        "unsubscribe": unsubscribe_token(objects["patient"].pk),
        "offer": offer_token(objects["offer"]),
    }


@pytest.fixture
def world(db) -> Iterator[World]:
    with time_machine.travel(NOW, tick=False):
        location = LocationFactory()
        doctor = ClinicianFactory(
            user=UserFactory(username="dr.quinn", is_staff=True),
            sites=[Site.objects.get(slug="lumbar")],
            locations=[location],
        )
        doctor.user.groups.add(Group.objects.get(name=CLINICIAN))
        zelda, zeldas = _patient_with_history(ZELDA, doctor, location, hour=15)
        yusuf, yusufs = _patient_with_history(YUSUF, doctor, location, hour=17)
        hours = WorkingHoursFactory(clinician=doctor, location=location)
        exception = ScheduleExceptionFactory(
            clinician=doctor, location=location, date=NOW.date() + timedelta(days=9)
        )
        block = BlockFactory(
            clinician=doctor, start=NOW + timedelta(days=8), end=NOW + timedelta(days=8, hours=1)
        )
        feed = feed_for(doctor)
        zeldas.update(clinician=doctor, hours=hours, exception=exception, block=block, feed=feed)
        yield World(
            appointment=zelda,
            objects=zeldas,
            tokens=_tokens(zelda, zeldas),
            other_tokens=_tokens(yusuf, yusufs),
        )


# --- who tries ---------------------------------------------------------------------------

ANONYMOUS, PATIENT, COLLEAGUE = "anonymous", "patient account", "another clinician"
IDENTITIES = (ANONYMOUS, PATIENT, RECEPTION, CLINICIAN, COLLEAGUE, CLINIC_ADMIN)
DESK = frozenset({RECEPTION, CLINIC_ADMIN})
CLINICAL = frozenset({CLINICIAN, CLINIC_ADMIN})
EVERYONE = frozenset(IDENTITIES)
OWN = DESK | {CLINICIAN}  # the appointment's own clinician, and the desk


def _client_for(identity: str, world: World) -> Client:
    client = Client()
    if identity == ANONYMOUS:
        return client
    if identity == CLINICIAN:
        client.force_login(world.objects["clinician"].user)
        return client
    user = UserFactory(username=identity.replace(" ", "-"), is_staff=identity != PATIENT)
    if identity == COLLEAGUE:
        ClinicianFactory(user=user)
        user.groups.add(Group.objects.get(name=CLINICIAN))
    elif identity != PATIENT:
        user.groups.add(Group.objects.get(name=identity))
    client.force_login(user)
    return client


# --- the table: one case per URL pattern that names an object ----------------------------


@dataclass(frozen=True)
class Case:
    url: Callable[[World], str]
    allowed: frozenset[str]  # who may use it (and so may see the patient)
    method: str = "get"


def _o(name: str, attribute: str = "pk") -> Callable[[World], object]:
    return lambda world: getattr(world.objects[name], attribute)


def _id(world: World) -> str:
    return str(world.appointment.public_id)


def _arrived(world: World) -> str:
    return str(world.objects["arrived"].public_id)


def _t(kind: str) -> Callable[[World], str]:
    return lambda world: world.tokens[kind]


def _url(template: str, *values: Callable[[World], object]) -> Callable[[World], str]:
    return lambda world: template.format(*(value(world) for value in values))


def _password_reset(world: World) -> str:
    user = world.objects["clinician"].user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/"


LINK = EVERYONE  # a patient's link is the key: whoever holds it may use it
CASES: dict[str, Case] = {
    # Booking pages by site: public, and about no patient.
    "book/<slug:site_slug>/": Case(_url("/book/lumbar/"), EVERYONE),
    "book/<slug:site_slug>/details/": Case(_url("/book/lumbar/details/"), EVERYONE),
    "book/<slug:site_slug>/review/": Case(_url("/book/lumbar/review/"), EVERYONE),
    "book/<slug:site_slug>/waitlist/": Case(_url("/book/lumbar/waitlist/"), EVERYONE),
    "book/<slug:site_slug>/waitlist/thanks/": Case(_url("/book/lumbar/waitlist/thanks/"), EVERYONE),
    # Patient links.
    "waitlist/offer/<str:token>/": Case(_url("/waitlist/offer/{}/", _t("offer")), LINK),
    "booked/<str:token>/": Case(_url("/booked/{}/", _t("manage")), LINK),
    "manage/<str:token>/": Case(_url("/manage/{}/", _t("manage")), LINK),
    "manage/<str:token>/cancel/": Case(_url("/manage/{}/cancel/", _t("manage")), LINK),
    "manage/<str:token>/reschedule/": Case(_url("/manage/{}/reschedule/", _t("manage")), LINK),
    "manage/<str:token>/reschedule/confirm/": Case(
        _url("/manage/{}/reschedule/confirm/", _t("manage")), LINK
    ),
    "manage/<str:token>/safety/": Case(_url("/manage/{}/safety/", _t("manage")), LINK),
    "manage/<str:token>/appointment.ics": Case(
        _url("/manage/{}/appointment.ics", _t("manage")), LINK
    ),
    "unsubscribe/<str:token>/": Case(_url("/unsubscribe/{}/", _t("unsubscribe")), LINK),
    "check-in/<str:token>/": Case(_url("/check-in/{}/", _t("check_in")), LINK),
    "feeds/<str:token>.ics": Case(
        _url("/feeds/{}.ics", lambda world: world.objects["feed"].token), LINK
    ),
    "api/v1/manage/<str:token>/": Case(_url("/api/v1/manage/{}/", _t("manage")), LINK),
    "api/v1/manage/<str:token>/cancel/": Case(
        _url("/api/v1/manage/{}/cancel/", _t("manage")), LINK, "post"
    ),
    "api/v1/manage/<str:token>/reschedule/": Case(
        _url("/api/v1/manage/{}/reschedule/", _t("manage")), LINK, "post"
    ),
    "api/v1/check-ins/<str:token>/": Case(_url("/api/v1/check-ins/{}/", _t("check_in")), LINK),
    "accounts/reset/<uidb64>/<token>/": Case(_password_reset, EVERYONE),
    # Staff pages.
    "staff/alerts/<int:alert_id>/acknowledge/": Case(
        _url("/staff/alerts/{}/acknowledge/", _o("alert")), CLINICAL, "post"
    ),
    "staff/appointments/<uuid:public_id>/complete/": Case(
        _url("/staff/appointments/{}/complete/", _arrived), CLINICAL
    ),
    "staff/check-ins/<int:check_in_id>/answer/": Case(
        _url("/staff/check-ins/{}/answer/", _o("check_in")), CLINICAL
    ),
    "staff/check-ins/<int:check_in_id>/resend/": Case(
        _url("/staff/check-ins/{}/resend/", _o("check_in")), DESK | {CLINICIAN}, "post"
    ),
    "staff/patients/<int:patient_id>/check-ins/": Case(
        _url("/staff/patients/{}/check-ins/", _o("patient")), DESK | {CLINICIAN}
    ),
    "staff/patients/<int:patient_id>/trends/": Case(
        _url("/staff/patients/{}/trends/", _o("patient")), CLINICAL
    ),
    "staff/patients/<int:patient_id>/sites/<slug:site_slug>/documentation/": Case(
        _url("/staff/patients/{}/sites/lumbar/documentation/", _o("patient")), CLINICAL
    ),
    "desk/patients/<int:patient_id>/": Case(
        _url("/desk/patients/{}/", _o("patient")), DESK | {CLINICIAN}
    ),
    "desk/patients/<int:patient_id>/merge/": Case(
        _url("/desk/patients/{}/merge/", _o("patient")), DESK
    ),
    "desk/patients/<int:patient_id>/given-details/": Case(
        _url("/desk/patients/{}/given-details/", _o("patient")), DESK, "post"
    ),
    "desk/appointments/<uuid:public_id>/": Case(_url("/desk/appointments/{}/", _id), OWN),
    "desk/appointments/<uuid:public_id>/arrived/": Case(
        _url("/desk/appointments/{}/arrived/", _id), OWN, "post"
    ),
    "desk/appointments/<uuid:public_id>/no-show/": Case(
        _url("/desk/appointments/{}/no-show/", _id), OWN, "post"
    ),
    "desk/appointments/<uuid:public_id>/undo-no-show/": Case(
        _url("/desk/appointments/{}/undo-no-show/", _id), OWN, "post"
    ),
    "desk/appointments/<uuid:public_id>/undo-arrival/": Case(
        _url("/desk/appointments/{}/undo-arrival/", _id), OWN, "post"
    ),
    "desk/appointments/<uuid:public_id>/cancel/": Case(
        _url("/desk/appointments/{}/cancel/", _id), OWN, "post"
    ),
    "desk/appointments/<uuid:public_id>/reschedule/": Case(
        _url("/desk/appointments/{}/reschedule/", _id), OWN, "post"
    ),
    "desk/schedules/<int:clinician_id>/": Case(_url("/desk/schedules/{}/", _o("clinician")), DESK),
    "desk/schedules/<int:clinician_id>/hours/": Case(
        _url("/desk/schedules/{}/hours/", _o("clinician")), DESK, "post"
    ),
    "desk/schedules/<int:clinician_id>/hours/<int:hours_id>/remove/": Case(
        _url("/desk/schedules/{}/hours/{}/remove/", _o("clinician"), _o("hours")), DESK, "post"
    ),
    "desk/schedules/<int:clinician_id>/exceptions/": Case(
        _url("/desk/schedules/{}/exceptions/", _o("clinician")), DESK, "post"
    ),
    "desk/schedules/<int:clinician_id>/exceptions/<int:exception_id>/remove/": Case(
        _url("/desk/schedules/{}/exceptions/{}/remove/", _o("clinician"), _o("exception")),
        DESK,
        "post",
    ),
    "desk/schedules/<int:clinician_id>/blocks/": Case(
        _url("/desk/schedules/{}/blocks/", _o("clinician")), DESK, "post"
    ),
    "desk/schedules/<int:clinician_id>/blocks/<int:block_id>/remove/": Case(
        _url("/desk/schedules/{}/blocks/{}/remove/", _o("clinician"), _o("block")), DESK, "post"
    ),
    "desk/waitlist/<int:entry_id>/remove/": Case(
        _url("/desk/waitlist/{}/remove/", _o("waitlist_entry")), DESK, "post"
    ),
    "fhir/Patient/<int:patient_id>/$everything": Case(
        _url("/fhir/Patient/{}/$everything", _o("patient")), CLINICAL
    ),
    # The staff API.
    "api/v1/appointments/<uuid:public_id>/": Case(_url("/api/v1/appointments/{}/", _id), OWN),
    "api/v1/appointments/<uuid:public_id>/cancel/": Case(
        _url("/api/v1/appointments/{}/cancel/", _id), OWN, "post"
    ),
    "api/v1/appointments/<uuid:public_id>/reschedule/": Case(
        _url("/api/v1/appointments/{}/reschedule/", _id), OWN, "post"
    ),
    "api/v1/appointments/<uuid:public_id>/arrive/": Case(
        _url("/api/v1/appointments/{}/arrive/", _id), OWN, "post"
    ),
    "api/v1/appointments/<uuid:public_id>/no-show/": Case(
        _url("/api/v1/appointments/{}/no-show/", _id), OWN, "post"
    ),
    "api/v1/appointments/<uuid:public_id>/messages/": Case(
        _url("/api/v1/appointments/{}/messages/", _id), OWN
    ),
    "api/v1/appointments/<uuid:public_id>/complete/": Case(
        _url("/api/v1/appointments/{}/complete/", _arrived), CLINICAL, "post"
    ),
}


def _patterns(patterns: list, prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _names_an_object(route: str) -> bool:
    return "<" in route or "(?P" in route


def test_every_url_with_an_object_id_has_a_case():
    routes = {route for route in _patterns(get_resolver().url_patterns) if _names_an_object(route)}
    admin_routes = {route for route in routes if route.startswith("admin/")}
    assert routes - admin_routes - CASES.keys() == set(), "add these URLs to CASES"
    assert CASES.keys() - routes == set(), "these URLs no longer exist"
    # The admin's object URLs are tried through every registered model (TestAdmin).
    assert admin_routes


# --- what refusing looks like ------------------------------------------------------------


def _state() -> list[tuple]:
    """What a refused request must leave as it was."""
    return [
        *Appointment.objects.order_by("pk").values_list("pk", "status", "start", "clinician_id"),
        *Patient.objects.order_by("pk").values_list("pk", "first_name", "email", "consent_email"),
        *Alert.objects.order_by("pk").values_list("pk", "acknowledged_at"),
        ("counts", User.objects.count(), Appointment.objects.count(), Patient.objects.count()),
    ]


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def _assert_refused(response, identity: str) -> None:
    if identity in {ANONYMOUS, PATIENT} and _is_login_redirect(response):
        pass
    elif identity == ANONYMOUS:  # the API asks for credentials: 401
        assert response.status_code in {401, 403, 404}, response.status_code
    else:
        assert response.status_code in {403, 404}, response.status_code
    _assert_shows_nothing_of(response, ZELDA)


def _assert_shows_nothing_of(response, patient: dict) -> None:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode(errors="replace")
    for value in (patient["last_name"], patient["email"]):
        assert value not in text, f"{value} leaked"


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("route", sorted(CASES))
def test_only_those_it_is_for_get_past_an_object_url(world, route, identity):
    case = CASES[route]
    client = _client_for(identity, world)
    with time_machine.travel(NOW, tick=False):
        before = _state()
        response = getattr(client, case.method)(case.url(world))
        if identity in case.allowed:  # past the door: the input may still be refused
            assert not _is_login_redirect(response)
            assert response.status_code not in {401, 403, 404}, response.status_code
        else:
            _assert_refused(response, identity)
            assert _state() == before


# --- patient links -----------------------------------------------------------------------

SIGNED_LINKS = {  # the URL of each kind of signed link
    "manage": "/manage/{}/",
    "check_in": "/check-in/{}/",
    "unsubscribe": "/unsubscribe/{}/",
    "offer": "/waitlist/offer/{}/",
}


def _tampered(token: str) -> str:
    value, signature = token.rsplit(":", 1)
    return f"{value}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"


@pytest.mark.parametrize("kind", sorted(SIGNED_LINKS))
def test_another_patients_link_shows_only_that_patient(client, world, kind):
    with time_machine.travel(NOW, tick=False):
        response = client.get(SIGNED_LINKS[kind].format(world.other_tokens[kind]))
    assert response.status_code == 200
    _assert_shows_nothing_of(response, ZELDA)


SALTS = {
    "manage": MANAGE_SALT,
    "check_in": CHECK_IN_SALT,
    "unsubscribe": UNSUBSCRIBE_SALT,
    "offer": OFFER_SALT,
}


def _signed_with_another_key(kind: str, token: str) -> str:
    payload = signing.loads(token, salt=SALTS[kind])
    return signing.dumps(payload, salt=SALTS[kind], key="not the clinic's key")


@pytest.mark.parametrize("kind", sorted(SIGNED_LINKS))
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda kind, token: _tampered(token), id="tampered"),
        pytest.param(lambda kind, token: token.rsplit(":", 1)[0], id="unsigned"),
        pytest.param(_signed_with_another_key, id="another key"),
    ],
)
def test_a_spoiled_link_is_refused_and_changes_nothing(client, world, kind, method, spoil):
    with time_machine.travel(NOW, tick=False):
        before = _state()
        response = getattr(client, method)(
            SIGNED_LINKS[kind].format(spoil(kind, world.tokens[kind]))
        )
        assert 400 <= response.status_code < 500
        _assert_shows_nothing_of(response, ZELDA)
        assert _state() == before


@pytest.mark.parametrize(("kind", "other_kind"), list(permutations(sorted(SIGNED_LINKS), 2)))
def test_a_link_for_another_purpose_is_refused(client, world, kind, other_kind):
    with time_machine.travel(NOW, tick=False):
        before = _state()
        response = client.post(SIGNED_LINKS[kind].format(world.tokens[other_kind]))
        assert 400 <= response.status_code < 500
        _assert_shows_nothing_of(response, ZELDA)
        assert _state() == before


@pytest.mark.parametrize(
    ("url", "after"),
    [
        pytest.param("/manage/{}/", timedelta(days=7), id="manage link after the visit"),
        pytest.param("/api/v1/manage/{}/", timedelta(days=7), id="manage API after the visit"),
    ],
)
def test_an_expired_manage_link_is_refused(client, world, url, after):
    with time_machine.travel(NOW + after, tick=False):
        before = _state()
        for method in ("get", "post"):
            response = getattr(client, method)(url.format(world.tokens["manage"]))
            assert 400 <= response.status_code < 500
            _assert_shows_nothing_of(response, ZELDA)
        assert _state() == before


@pytest.mark.parametrize("url", ["/check-in/{}/", "/api/v1/check-ins/{}/"])
def test_an_expired_check_in_link_shows_and_takes_nothing(client, world, url):
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        before = _state()
        get = client.get(url.format(world.tokens["check_in"]))
        post = client.post(url.format(world.tokens["check_in"]), {"pain": 2})
        assert get.status_code in {404, 410}
        assert post.status_code in {404, 410}
        for response in (get, post):
            _assert_shows_nothing_of(response, ZELDA)
        assert _state() == before


def test_a_revoked_calendar_feed_is_404(client, world):
    old = world.objects["feed"].token
    revoke_and_renew(world.objects["clinician"])
    response = client.get(f"/feeds/{old}.ics")
    assert response.status_code == 404
    _assert_shows_nothing_of(response, ZELDA)


# --- the admin ---------------------------------------------------------------------------


def _admin_objects(world: World) -> Iterator[tuple[str, str]]:
    """The change page of one object of each registered model that has one."""
    for model in admin.site._registry:
        instance = model._default_manager.first()
        if instance is not None:
            label = f"{model._meta.app_label}/{model._meta.model_name}"
            yield label, f"/admin/{label}/{instance.pk}/change/"


@pytest.mark.parametrize("identity", [ANONYMOUS, PATIENT, RECEPTION, CLINICIAN, COLLEAGUE])
def test_the_admin_shows_each_object_only_to_those_with_its_permission(world, identity):
    client = _client_for(identity, world)
    user = None if identity == ANONYMOUS else User.objects.get(pk=client.session["_auth_user_id"])
    tried = 0
    for label, url in _admin_objects(world):
        app_label, model_name = label.split("/")
        response = client.get(url)
        tried += 1
        may_view = (
            user is not None and user.is_staff and user.has_perm(f"{app_label}.view_{model_name}")
        )
        if may_view:
            assert response.status_code == 200, url
        else:
            assert response.status_code in {302, 403}, url
            _assert_shows_nothing_of(response, ZELDA)
    assert tried >= 10
