"""The office's monthly spreadsheets — deliveries, requests and volunteer hours of a month in
the coordinator's scope, Chinese headers — and the audit event each download writes."""

from collections.abc import Callable
from zoneinfo import ZoneInfo

from carevisits.models import User
from carevisits.services import audit, exports, volunteer_hours
from carevisits.services.exports import Month

Rows = tuple[list[str], list[list]]
# What the office may download: name in the address → (its rows, its title).
EXPORTS: dict[str, tuple[Callable[[User, Month, ZoneInfo], Rows], str]] = {
    "deliveries": (exports.delivery_rows, "服务记录"),
    "requests": (exports.request_rows, "诉求记录"),
    "volunteer-hours": (volunteer_hours.hours_rows, "志愿服务时长"),
}


def monthly_export(actor: User, what: str, month: Month, zone: ZoneInfo,
                   fmt: str) -> tuple[list[str], list[list], str]:
    """One of EXPORTS for the actor's scope: (header, rows, title). Audited as ``export``
    with the month, the number of rows and the format."""
    rows_for, title = EXPORTS[what]
    header, rows = rows_for(actor, month, zone)
    audit.record(actor, "export", what, None, month=str(month), rows=len(rows), format=fmt)
    return header, rows, title
