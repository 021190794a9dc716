from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def api_body_size_limit(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """Refuse API request bodies over API_MAX_BODY_BYTES with 413 before reading them."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse({"detail": "Content-Length is not a number."}, status=400)
            if length > settings.API_MAX_BODY_BYTES:
                limit_kib = settings.API_MAX_BODY_BYTES // 1024
                return JsonResponse(
                    {"detail": f"The request is larger than {limit_kib} KiB."}, status=413
                )
        return get_response(request)

    return middleware
