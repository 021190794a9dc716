"""Template filters for the clinic's US conventions (built in: settings.TEMPLATES)."""

from django import template

from booking import formats

register = template.Library()


@register.filter
def zone_name(zone: object) -> str:
    """{{ location.time_zone|zone_name }} → "Eastern Time"."""
    return formats.zone_name(zone)
