from zoneinfo import available_timezones

from django.core.exceptions import ValidationError


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(
            "%(value)s is not a known IANA time zone (for example America/New_York).",
            params={"value": value},
            code="invalid_time_zone",
        )
