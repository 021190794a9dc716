"""The clinic-wide outcomes page (clinicians and clinic admins): figures by time point for
the filtered procedures, and a chart of median pain with its interquartile band per site.

Thin: the form parses the filters, `followup.outcome_stats.outcome_stats` computes every figure
from the read model (`followup.outcome_facts`), and the page says how old they are.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from booking.audit import record
from booking.models import AuditEvent, Clinician, Location, Site
from booking.patients import CLINICAL_ROLES
from booking.roles import staff_only
from followup.charts import DAY_TICKS, Band, Series, line_chart, sqrt_days
from followup.clinical import RELIEF_PERCENT
from followup.models import Injectate
from followup.outcome_facts import facts_are_stale
from followup.outcome_stats import RESPONDER_METHODS, OutcomeFilters, SiteSeries, outcome_stats


class OutcomeFilterForm(forms.Form):
    """The outcomes page's and the CSV export's filters. All optional."""

    site = forms.ModelMultipleChoiceField(
        queryset=Site.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Sites",
    )
    injectate = forms.ChoiceField(
        choices=[("", "Any injectate"), *Injectate.choices], required=False
    )
    clinician = forms.ModelChoiceField(
        queryset=Clinician.objects.order_by("display_name"),
        required=False,
        empty_label="Any clinician",
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.order_by("name"), required=False, empty_label="Any location"
    )
    date_from = forms.DateField(
        required=False, label="Procedures from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="Procedures to", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> OutcomeFilters:
        data = self.cleaned_data
        return OutcomeFilters(
            sites=tuple(data.get("site") or ()),
            injectate=data.get("injectate") or "",
            clinician=data.get("clinician"),
            location=data.get("location"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def filter_form(request: HttpRequest) -> OutcomeFilterForm:
    """Bound to the query string (an empty one is valid: no filters)."""
    return OutcomeFilterForm(request.GET)


def _chart(series: SiteSeries) -> str:
    """Median pain with its interquartile band, from the median baseline at day 0; empty
    when the site has no answers."""
    answered = [
        (day, q.q1, q.median, q.q3, q.n)
        for day, q in series.points
        if q.q1 is not None and q.median is not None and q.q3 is not None
    ]
    if not answered:
        return ""
    baseline = series.baseline
    points = answered
    if baseline.q1 is not None and baseline.median is not None and baseline.q3 is not None:
        points = [(0, baseline.q1, baseline.median, baseline.q3, baseline.n), *answered]
    name = series.site.name
    return line_chart(
        title=f"{name}: median pain by day after the injection",
        description=(
            f"Median NRS pain score (0-10) with its interquartile range at each time point "
            f"for {name}, from the median baseline at day 0: "
            + "; ".join(
                f"{'baseline' if day == 0 else f'day {day}'} median {median:g} "
                f"(IQR {q1:g}-{q3:g}, n={n})"
                for day, q1, median, q3, n in points
            )
            + "."
        ),
        series=[Series(label=f"{name}: median pain", points=[(p[0], p[2]) for p in points])],
        bands=[
            Band(
                label="Interquartile range (25th to 75th percentile)",
                lower=[(p[0], p[1]) for p in points],
                upper=[(p[0], p[3]) for p in points],
            )
        ],
        x_ticks=[0, *DAY_TICKS],
        x_scale=sqrt_days,
        x_label="Days after the injection, baseline at 0 (square-root scale)",
        y_label="Pain, NRS 0-10",
    )


@require_safe
@staff_only(*CLINICAL_ROLES)
def outcomes(request: HttpRequest) -> HttpResponse:
    form = filter_form(request)
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.is_valid():
        filters = form.filters()
        now = timezone.now()
        stats = outcome_stats(filters, now=now)
        context |= {
            "stats": stats,
            "stale": facts_are_stale(stats.as_of, now),
            "refresh_minutes": settings.OUTCOME_REFRESH_MINUTES,
            "charts": [(series, _chart(series)) for series in stats.per_site],
            "query": request.GET.urlencode(),
            "responder_methods": RESPONDER_METHODS,
            "relief_percent": RELIEF_PERCENT,
        }
        record(
            request,
            action=AuditEvent.Action.VIEW,
            summary=f"Viewed the outcomes dashboard ({filters.describe()})",
        )
    else:
        status = 400
    return render(request, "followup/dashboard_trends.html", context, status=status)
