"""Staff API tokens: valid for API_TOKEN_HOURS after they were issued, revoked when the
password changes. Kept apart from the token view (auth.py): DRF imports the authentication
class while it loads APIView, which that view needs."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def token_expires_at(token: Token) -> datetime:
    return token.created + timedelta(hours=settings.API_TOKEN_HOURS)


def is_expired(token: Token, *, now: datetime | None = None) -> bool:
    return token_expires_at(token) <= (now or timezone.now())


@transaction.atomic
def token_for(user: User) -> Token:
    """The user's token: the one issued before while it lasts, else a new one."""
    token, created = Token.objects.select_for_update().get_or_create(user=user)
    if not created and is_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's `Authorization: Token …`, refusing (and deleting) a token older than
    API_TOKEN_HOURS: a token copied into a script or a log stops working by itself."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if is_expired(token):
            token.delete()
            raise AuthenticationFailed("The token has expired; ask for a new one.")
        return user, token


class RevokeApiTokensOnPasswordChange:
    """Listed in AUTH_PASSWORD_VALIDATORS for Django's `password_changed` hook, which every
    password change calls (the password change and reset pages, the admin, `changepassword`,
    `set_password` then `save`): the user's API token goes with the old password, as their
    other sessions do. It refuses no password."""

    def validate(self, password: str, user: User | None = None) -> None:
        return None

    def password_changed(self, password: str, user: User | None = None) -> None:
        if user is not None and user.pk is not None:
            Token.objects.filter(user=user).delete()

    def get_help_text(self) -> str:
        return "Changing your password ends your API token, if you have one."
