"""Domain errors as HTTP answers, the same for every endpoint."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views import defaults
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response

from booking.api.serializers import SlotSerializer
from booking.services import (
    BookingError,
    KeyReused,
    NotBookable,
    SlotTaken,
    TooManyOnlineBookings,
)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class BookingConflictSerializer(serializers.Serializer):
    """A 409 of a booking or a move: with `alternatives` only when the time was just taken."""

    detail = serializers.CharField()
    alternatives = SlotSerializer(
        many=True,
        required=False,
        help_text="Up to 5 nearest free times; only when the time asked for was just taken.",
    )


def booking_error_response(error: BookingError) -> Response:
    """400 for a time that cannot be booked as asked (a field error on `start`);
    409 with the nearest free times when it was just taken; 409 for a change the
    appointment's state or the notice period does not allow; 400 on `patient` for a person
    who holds the most online bookings of the site; 422 for an Idempotency-Key
    sent again with another request (as Stripe answers), which shows nothing of the first."""
    if isinstance(error, NotBookable):
        return Response({"start": [error.message]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(error, KeyReused):
        return Response({"detail": error.message}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(error, TooManyOnlineBookings):
        return Response({"patient": [error.message]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(error, SlotTaken):
        alternatives = SlotSerializer(error.alternatives, many=True).data
        return Response(
            {"detail": error.message, "alternatives": alternatives},
            status=status.HTTP_409_CONFLICT,
        )
    return Response({"detail": error.message}, status=status.HTTP_409_CONFLICT)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 handler: JSON under /api/ (for a path no URL matches, such as an id
    that is not a UUID), as DRF answers its own 404s; the site's page elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 handler (a SuspiciousOperation, such as a refused admin lookup or a NUL
    in the query string): JSON under /api/, else the site's page with its header."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return render(request, "400.html", status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler: JSON under /api/; elsewhere the site's page, rendered without
    the request so that no context processor (one may be what failed) runs: it needs only
    the clinic's name."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    page = loader.get_template("500.html").render({"clinic_name": settings.CLINIC_NAME})
    return HttpResponseServerError(page)


BOOKING_CONFLICT_RESPONSE = OpenApiResponse(
    BookingConflictSerializer,
    description=(
        "The time was just taken: `alternatives` lists up to 5 nearest free times. Or the "
        "appointment's status or the site's notice period forbids the change: `detail` only."
    ),
    examples=[
        OpenApiExample(
            "Taken",
            value={
                "detail": "Sorry, that time was just taken. Here are the nearest free times.",
                "alternatives": [
                    {
                        "start": "2026-12-01T09:15:00-05:00",
                        "end": "2026-12-01T10:00:00-05:00",
                        "clinician": {"id": 1, "name": "Dr. Maya Patel"},
                        "location": {"id": 1, "name": "Riverside Pain Clinic, Main Street"},
                    }
                ],
            },
        ),
        OpenApiExample(
            "Too late to change",
            value={
                "detail": "Your visit is less than 24 hours away, so it can no longer be changed "
                "online. Please call the clinic."
            },
        ),
    ],
)
CONFLICT_RESPONSE = OpenApiResponse(
    DetailSerializer, description="Not allowed now: call the clinic, or the status forbids it."
)
