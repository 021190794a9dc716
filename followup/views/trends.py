"""The patient trend page: one patient's pain against days since each procedure, the
figures of every episode and repeat-injection eligibility per site (the clinic-wide figures
are on the outcomes page). Thin: the figures come from followup.trends and
followup.eligibility, the chart from followup.charts."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from booking.audit import record
from booking.models import AuditEvent
from booking.patients import CLINICAL_ROLES, visible_patients
from booking.roles import staff_only
from followup.charts import DAY_TICKS, Series, line_chart
from followup.clinical import MODERATE_PERCENT, RELIEF_PERCENT, SUBSTANTIAL_PERCENT, level_below
from followup.eligibility import eligibility_by_site
from followup.payer_documentation import injected_sites
from followup.trends import EpisodeFigures, patient_figures


def trend_chart(figures: list[EpisodeFigures]) -> str:
    """Pain by day since each procedure: one series per episode; the baseline is its
    point at day 0; red-flag answers are ringed; the responder reduction levels are
    drawn for the latest episode with a baseline above 0."""
    series = []
    for item in figures:
        points: list[tuple[float, float]] = []
        if item.baseline is not None:
            points.append((0, item.baseline))
        points += [(row.day, row.pain) for row in item.rows]
        marked = [(float(row.day), float(row.pain)) for row in item.rows if row.red_flags]
        series.append(Series(label=item.label, points=points, marked=marked))
    reference_lines: list[tuple[str, float]] = []
    latest = next((item for item in reversed(figures) if item.baseline), None)
    if latest is not None and latest.baseline:
        reference_lines = [
            (
                f"{percent} % below latest baseline ({level_below(latest.baseline, percent):g})",
                level_below(latest.baseline, percent),
            )
            for percent in (MODERATE_PERCENT, SUBSTANTIAL_PERCENT)
        ]
    answers = sum(len(item.rows) for item in figures)
    return line_chart(
        title="Pain (NRS 0-10) by day since each procedure",
        description=(
            f"{len(figures)} episode(s), {answers} answer(s). One line per episode, starting at "
            "its baseline at day 0. The data are in the tables below the chart."
        ),
        series=series,
        x_ticks=[0, *DAY_TICKS],
        reference_lines=reference_lines,
        x_label="Days since the procedure (square-root scale)",
        y_label="Pain, NRS 0-10",
    )


@require_safe
@staff_only(*CLINICAL_ROLES)
def patient_trends(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_object_or_404(visible_patients(request.user), pk=patient_id)
    figures = patient_figures(patient)
    now = timezone.now()
    record(
        request,
        action=AuditEvent.Action.VIEW,
        patient=patient,
        obj=patient,
        summary="Viewed the patient's pain-score trends",
    )
    latest = next((item for item in reversed(figures) if item.baseline), None)
    context = {
        "patient": patient,
        "figures": figures,
        "chart": trend_chart(figures) if figures else "",
        "latest_with_baseline": latest,
        "eligibility": eligibility_by_site(figures, now=now),
        "documentation_sites": injected_sites(figures),
        "moderate": MODERATE_PERCENT,
        "substantial": SUBSTANTIAL_PERCENT,
        "relief": RELIEF_PERCENT,
        "now": now,
    }
    return render(request, "followup/trends/patient.html", context)
