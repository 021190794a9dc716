"""What the site's admin page posts, for tests that edit a site's plans and limits there."""

from booking.models import Site

SITE_INLINES = ("reminder_steps", "follow_up_steps", "eligibility_policy")


def site_change_form(site: Site, **inlines: list[dict[str, object]]) -> dict[str, object]:
    """The site's fields as they are, and each inline (SITE_INLINES) with the rows given, as
    `{field: value}` dicts; a row with an `id` is an existing one. Inlines not given post no
    rows, which leaves them as they are."""
    form: dict[str, object] = {
        "name": site.name,
        "duration_minutes": site.duration_minutes,
        "description": site.description,
        "instructions": site.instructions,
        "is_active": "on",
        "min_notice_hours": site.min_notice_hours,
        "max_advance_days": site.max_advance_days,
        "slot_step_minutes": site.slot_step_minutes,
        "buffer_after_minutes": site.buffer_after_minutes,
    }
    for prefix in SITE_INLINES:
        rows = inlines.get(prefix, [])
        form[f"{prefix}-TOTAL_FORMS"] = len(rows)
        form[f"{prefix}-INITIAL_FORMS"] = sum(1 for row in rows if row.get("id"))
        for index, row in enumerate(rows):
            form |= {f"{prefix}-{index}-{name}": value for name, value in row.items()}
    return form
