from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from booking.models import Site


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The sites a patient can book, as cards: the start of the booking flow."""
    return render(request, "booking/home.html", {"sites": Site.objects.active()})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form too old to trust (CSRF): explain and offer a way back, not Django's 403 page."""
    return render(request, "csrf_failure.html", status=403)
