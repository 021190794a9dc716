"""Template filters for the clinic's US conventions (built in: settings.TEMPLATES)."""

from django import template

from booking import formats

register = template.Library()


@register.filter
def a_or_an(word: str) -> str:
    """{{ "intra-articular"|a_or_an }} → "an intra-articular"."""
    return f"{'an' if str(word)[:1].lower() in 'aeiou' else 'a'} {word}"


@register.filter
def zone_name(zone: object) -> str:
    """{{ location.time_zone|zone_name }} → "Eastern Time"."""
    return formats.zone_name(zone)
