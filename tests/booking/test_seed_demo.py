import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from booking.models import Clinician, Location, Site, WorkingHours
from booking.roles import CLINICIAN, RECEPTION, has_role

pytestmark = pytest.mark.django_db


def test_it_builds_the_demo_clinic_and_prints_the_logins(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    output = capsys.readouterr().out
    for username in ("reception", "clinician", "admin"):
        assert username in output
    location = Location.objects.get()
    assert location.time_zone == "America/New_York"
    assert Clinician.objects.count() == 4
    covered = set(Site.objects.filter(clinicians__isnull=False).values_list("slug", flat=True))
    assert covered == set(Site.objects.values_list("slug", flat=True))
    assert set(WorkingHours.objects.values_list("weekday", flat=True)) == {0, 1, 2, 3, 4}
    assert has_role(User.objects.get(username="reception"), RECEPTION)
    assert has_role(User.objects.get(username="clinician"), CLINICIAN)
    assert User.objects.get(username="clinician").clinician.sites.exists()


def test_running_it_again_changes_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    counts = (User.objects.count(), Clinician.objects.count(), WorkingHours.objects.count())
    call_command("seed_demo")
    assert counts == (User.objects.count(), Clinician.objects.count(), WorkingHours.objects.count())


def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="runs only with DEBUG on"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_force_runs_it_with_debug_off(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--force")
    assert User.objects.filter(username="admin", is_superuser=True).exists()
