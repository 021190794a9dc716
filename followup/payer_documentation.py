"""The documentation a clinic attaches to a request to a payer for one more injection at a
site: plain functions, no HTTP.

Medicare's trigger point injection policies (LCDs L34211 and L36859) ask for what this
gathers: the baseline and every later measurement on the same scale, each with its date;
the percent relief from the baseline and how long it lasted; the sessions at the site in
the last 12 months; and the rule the request is judged by. The verdict is
followup.eligibility's, shown as it is. Dates are the location's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from booking.models import Clinician, Location, Patient, Site
from followup.clinical import in_session_year, percent_reduction
from followup.eligibility import Eligibility, eligibility_by_site
from followup.models import EligibilityPolicy, Episode
from followup.trends import EpisodeFigures, patient_figures

SCALE = "NRS 0-10"


@dataclass(frozen=True)
class Measurement:
    """One answered check-in after the last injection, on the baseline's scale."""

    measured_on: date
    day: int
    pain: int
    relief: float | None  # percent reduction from the baseline; None without one above 0


@dataclass(frozen=True)
class PastSession:
    performed_on: date
    side: str
    clinician: str
    location: str


@dataclass(frozen=True)
class PayerDocumentation:
    patient: Patient
    site: Site
    location: Location  # of the last injection
    last: EpisodeFigures
    injected_on: date
    side: str
    clinician: str
    measurements: list[Measurement]
    sessions_in_year: list[PastSession]  # oldest first, the last injection included
    policy: EligibilityPolicy
    eligibility: Eligibility
    produced_at: datetime  # the location's time
    scale: str = SCALE


def injected_sites(figures: list[EpisodeFigures]) -> list[Site]:
    """The sites the patient was injected at, in name order."""
    sites = {item.episode.site_id: item.episode.site for item in figures}
    return sorted(sites.values(), key=lambda site: site.name)


def _local_date(moment: datetime, episode: Episode) -> date:
    return moment.astimezone(episode.procedure.appointment.location.zone).date()


def payer_documentation(
    patient: Patient, site: Site, *, now: datetime
) -> PayerDocumentation | None:
    """The documentation of the patient's injections at `site` as of `now`; None when the
    patient was never injected there."""
    at_site = [item for item in patient_figures(patient) if item.episode.site_id == site.pk]
    if not at_site:
        return None
    last = at_site[-1]
    episode = last.episode
    location = episode.procedure.appointment.location
    today = now.astimezone(location.zone).date()
    in_year = [
        item
        for item in at_site
        if in_session_year(_local_date(item.episode.procedure.performed_at, item.episode), today)
    ]
    clinicians = Clinician.objects.in_bulk(
        {item.episode.procedure.performed_by_id for item in [*in_year, last]}
    )
    [judged] = eligibility_by_site(at_site, now=now)
    policy = EligibilityPolicy.objects.filter(site=site).first() or EligibilityPolicy(site=site)
    return PayerDocumentation(
        patient=patient,
        site=site,
        location=location,
        last=last,
        injected_on=_local_date(episode.procedure.performed_at, episode),
        side=episode.procedure.get_side_display(),
        clinician=clinicians[episode.procedure.performed_by_id].display_name,
        measurements=[
            Measurement(
                measured_on=_local_date(row.answered_at, episode),
                day=row.day,
                pain=row.pain,
                relief=percent_reduction(last.baseline, row.pain),
            )
            for row in last.rows
        ],
        sessions_in_year=[
            PastSession(
                performed_on=_local_date(item.episode.procedure.performed_at, item.episode),
                side=item.episode.procedure.get_side_display(),
                clinician=clinicians[item.episode.procedure.performed_by_id].display_name,
                location=item.episode.procedure.appointment.location.name,
            )
            for item in in_year
        ],
        policy=policy,
        eligibility=judged.result,
        produced_at=now.astimezone(location.zone),
    )
