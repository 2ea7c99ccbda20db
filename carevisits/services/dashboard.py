"""Everything the coordinator's dashboard shows for a month and an area, gathered once: the
page, the XLSX and the PDF of the monthly report all read this (same numbers, same queries)."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from carevisits.models import User
from carevisits.services import coverage, oversight
from carevisits.services.elder_list import area_clause
from carevisits.services.exports import Month
from carevisits.services.scope import area_options

# The level shown under each kind of area: a street's communities, a community's grids.
NEXT_LEVEL = {"s": "community", "c": "grid", "g": None, "": "community"}


@dataclass
class Dashboard:
    """The figures of one month in one area of the user's scope."""

    reckoning: coverage.Reckoning
    area: str
    area_label: str
    figures: coverage.Figures
    level: str | None  # the level under the area: "community", "grid" or None

    @property
    def total(self) -> coverage.Row:
        return self.figures.total

    @property
    def rows(self) -> list[coverage.Row]:
        """The level under the area (communities or grids)."""
        return getattr(self.figures, self.level) if self.level else []

    @property
    def grids(self) -> list[coverage.Row]:
        return self.figures.grid

    @property
    def workers(self) -> list[coverage.Row]:
        return self.figures.workers
    alerts: oversight.AlertPanel
    requests: oversight.RequestPanel
    volunteers: oversight.VolunteerPanel
    trends: dict[str, list[oversight.Week]]


def build(user: User, month: Month, now: datetime, zone: ZoneInfo, area: str = "") -> Dashboard:
    """The dashboard of ``month`` for ``area`` (an option of scope.area_options, or the whole
    scope); ValueError for an area outside the user's options."""
    options = area_options(user)
    if area and area not in options:
        raise ValueError(area)
    within = area_clause(area) if area else None
    r = coverage.Reckoning.of(month, now, zone)
    level = NEXT_LEVEL[area.partition(":")[0]]
    if not area and user.community_id:
        level = "grid"
    figures = coverage.figures(user, r, within)
    return Dashboard(
        reckoning=r, area=area, area_label=options.get(area, user.scope_label).strip("　"),
        figures=figures, level=level,
        alerts=oversight.alert_panel(user, r), requests=oversight.request_panel(user, r),
        volunteers=oversight.volunteer_panel(user, r), trends=oversight.trends(r, figures))
