"""The OpenAPI schema documents the error answers too, so a client knows every status."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from booking.api.errors import DetailSerializer

INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input: a list of messages per field, or `detail`."
)
UNAUTHENTICATED = OpenApiResponse(
    DetailSerializer,
    description="No credentials, or a token that is unknown or expired: log in or get a token.",
)
# DRF names the first authentication class's scheme (the token's, config/settings.py).
CHALLENGE = {
    "WWW-Authenticate": {
        "schema": {"type": "string", "enum": ["Token"]},
        "description": "The scheme to authenticate with.",
        "required": True,
    }
}
FORBIDDEN = OpenApiResponse(
    DetailSerializer, description="Logged in, but without a staff role that may do this."
)
NOT_FOUND = OpenApiResponse(DetailSerializer, description="No such object, or the link is invalid.")
TOO_LARGE = OpenApiResponse(DetailSerializer, description="The request body is over 64 KiB.")
THROTTLED = OpenApiResponse(
    DetailSerializer, description="Too many requests from this address; see `Retry-After`."
)


class ClinicAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the errors DRF and the middleware answer with
    (400, 401, 403, 404, 413, 429), each only where the endpoint can give it."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:
            responses = operation["responses"]
            for code, response in self._error_responses(operation).items():
                if code not in responses:
                    responses[code] = self._get_response_for_code(response, code)
            if "401" in responses:
                responses["401"]["headers"] = CHALLENGE
        return operation

    def _error_responses(self, operation: dict) -> dict[str, OpenApiResponse]:
        places = {parameter["in"] for parameter in operation.get("parameters", [])}
        takes_body = self.method in {"POST", "PUT", "PATCH"}
        errors = {}
        if takes_body or "query" in places:
            errors["400"] = INVALID
        # A refused token is 401 even where no login is needed (booking): DRF authenticates
        # every request to a view that has authentication classes.
        if self.view.get_authenticators():
            errors["401"] = UNAUTHENTICATED
        if not all(isinstance(check, AllowAny) for check in self.view.get_permissions()):
            errors["403"] = FORBIDDEN
        if "path" in places:
            errors["404"] = NOT_FOUND
        if takes_body:
            errors["413"] = TOO_LARGE
        if self.view.get_throttles():
            errors["429"] = THROTTLED
        return errors
