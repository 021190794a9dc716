from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from booking.api.tokens import token_for


class ObtainTokenView(APIView):
    """Exchange a staff username and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    class TokenRequestSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

        def validate(self, attrs: dict) -> dict:
            request = self.context["request"]
            user = authenticate(
                request=request, username=attrs["username"], password=attrs["password"]
            )
            if user is None and getattr(request, "axes_locked_out", False):
                # django-axes locked this username at this address: 429, as the login page.
                raise Throttled(
                    wait=settings.AXES_COOLOFF_TIME.total_seconds(),
                    detail="Too many failed attempts. Try again later.",
                )
            # One message for every refusal, so the answer does not reveal which
            # usernames exist or belong to staff.
            if user is None or not user.is_active or not user.is_staff:
                raise serializers.ValidationError(
                    "Unable to log in with these credentials.", code="authorization"
                )
            attrs["user"] = user
            return attrs

    class TokenSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenSerializer},
        auth=[],
        examples=[
            # A placeholder in the API docs, not a password.
            OpenApiExample("Staff login", value={"username": "reception", "password": "…"}),  # nosec B105
        ],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token = token_for(serializer.validated_data["user"])
        return Response(self.TokenSerializer({"token": token.key}).data)
