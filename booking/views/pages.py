from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from booking import health
from booking.models import Site


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "booking/home.html", {"sites": Site.objects.active()})


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 (with which one) when not."""
    states = {"database": health.database_state(), "broker": health.broker_state()}
    healthy = all(state == "ok" for state in states.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **states}, status=200 if healthy else 503
    )
