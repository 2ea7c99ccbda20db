"""Monthly figures and exports for the street office: deliveries and requests, in scope."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Select, case, func, select

from carevisits.extensions import db
from carevisits.labels import REQUEST_CLASSES, REQUEST_STATUSES
from carevisits.models import (
    MET_OUTCOMES,
    Community,
    Delivery,
    Elder,
    Grid,
    Household,
    ServiceItem,
    ServiceRequest,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
)
from carevisits.models.household import format_address
from carevisits.services.scope import household_scope

FORMULA_STARTS = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Month:
    """A calendar month in the local time zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """'2026-11' → Month(2026, 11); ValueError for anything else."""
        year, _, month = text.partition("-")
        value = cls(int(year), int(month))
        if not (2000 <= value.year <= 2100 and 1 <= value.month <= 12):
            raise ValueError(text)
        return value

    @classmethod
    def of(cls, moment: datetime, zone: ZoneInfo) -> "Month":
        """The local month a moment falls in."""
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        start = datetime.combine(date(self.year, self.month, 1), time(), zone)
        nxt = date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return start, datetime.combine(nxt, time(), zone)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def neutralise(value):
    """A cell as a spreadsheet shows it as typed: control characters dropped (the forms and
    the import keep none, but a row stored before they were cleaned may hold one, and XLSX
    cannot), then one that a spreadsheet would run as a formula made plain text."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def local_text(at: datetime, zone: ZoneInfo) -> str:
    """A moment as a spreadsheet cell shows it: local date and time to the minute."""
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def delivery_rows(user: User, month: Month, zone: ZoneInfo) -> tuple[list[str], list[list]]:
    """Every delivery of the month in the user's scope, one row each."""
    start, end = month.bounds(zone)
    query = (select(Delivery, ServiceItem, Elder, Household, Community, User)
             .join(ServiceItem, Delivery.item_id == ServiceItem.id)
             .join(Elder, Delivery.elder_id == Elder.id)
             .join(Household, Elder.household_id == Household.id)
             .join(Grid, Household.grid_id == Grid.id)
             .join(Community, Grid.community_id == Community.id)
             .join(Visit, Delivery.visit_id == Visit.id)
             .join(User, Visit.visitor_id == User.id)
             .where(household_scope(user), Delivery.delivered_at >= start,
                    Delivery.delivered_at < end)
             .order_by(Delivery.delivered_at))
    header = ["时间", "社区", "户号", "地址", "老人", "服务", "类别", "数量", "单位", "服务人员",
              "备注"]
    rows = [[local_text(d.delivered_at, zone), c.name, h.number,
             format_address(h.address, h.building, h.unit, h.room), e.name, i.name,
             i.category, d.quantity, i.unit, u.display_name, d.notes]
            for d, i, e, h, c, u in db.session.execute(query)]
    return header, rows


def request_rows(user: User, month: Month, zone: ZoneInfo) -> tuple[list[str], list[list]]:
    """Every request raised in the month in the user's scope, one row each."""
    start, end = month.bounds(zone)
    query = (select(ServiceRequest, Elder, Household, Community)
             .join(Elder, ServiceRequest.elder_id == Elder.id)
             .join(Household, Elder.household_id == Household.id)
             .join(Grid, Household.grid_id == Grid.id)
             .join(Community, Grid.community_id == Community.id)
             .where(household_scope(user), ServiceRequest.raised_at >= start,
                    ServiceRequest.raised_at < end)
             .order_by(ServiceRequest.raised_at))
    header = ["提出时间", "社区", "户号", "老人", "类型", "描述", "7123分类", "办结时限", "状态",
              "办结时间", "处理结果"]
    rows = [[local_text(r.raised_at, zone), c.name, h.number, e.name, r.kind, r.description,
             str(REQUEST_CLASSES[r.request_class]), local_text(r.deadline, zone),
             str(REQUEST_STATUSES[r.status]),
             local_text(r.finished_at, zone) if r.finished_at else "", r.resolution]
            for r, e, h, c in db.session.execute(query)]
    return header, rows


def to_csv(header: list[str], rows: list[list]) -> bytes:
    """UTF-8 with a BOM, so that Excel on a Chinese PC opens it right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[neutralise(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


def workbook_bytes(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """An XLSX workbook of (title, header, rows) sheets, written in write-only (streaming)
    mode, every cell neutralised."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title[:31])
        sheet.append(header)
        for row in rows:
            sheet.append([neutralise(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def to_xlsx(header: list[str], rows: list[list], title: str) -> bytes:
    """Rows as a one-sheet XLSX file."""
    return workbook_bytes([(title, header, rows)])


def monthly_summary(user: User, month: Month, zone: ZoneInfo) -> dict:
    """Visits at the door and phone calls per community, deliveries per community and
    service, and requests per community and status."""
    start, end = month.bounds(zone)

    def scoped(query: Select) -> Select:
        return (query.join(Household, Elder.household_id == Household.id)
                .join(Grid, Household.grid_id == Grid.id)
                .join(Community, Grid.community_id == Community.id)
                .where(household_scope(user)))

    deliveries = db.session.execute(scoped(
        select(Community.name, ServiceItem.name, func.count(), func.sum(Delivery.quantity),
               func.count(func.distinct(Delivery.elder_id)))
        .select_from(Delivery).join(ServiceItem).join(Elder, Delivery.elder_id == Elder.id))
        .where(Delivery.delivered_at >= start, Delivery.delivered_at < end)
        .group_by(Community.name, ServiceItem.name).order_by(Community.name, ServiceItem.name))
    per_elder = db.session.execute(scoped(
        select(Elder.id, Elder.name, ServiceItem.name, func.count())
        .select_from(Delivery).join(ServiceItem).join(Elder, Delivery.elder_id == Elder.id))
        .where(Delivery.delivered_at >= start, Delivery.delivered_at < end)
        .group_by(Elder.id, Elder.name, ServiceItem.name).order_by(Elder.name))
    requests = db.session.execute(scoped(
        select(Community.name, ServiceRequest.status, func.count())
        .select_from(ServiceRequest).join(Elder, ServiceRequest.elder_id == Elder.id))
        .where(ServiceRequest.raised_at >= start, ServiceRequest.raised_at < end)
        .group_by(Community.name, ServiceRequest.status))
    return {"deliveries": deliveries.all(), "per_elder": per_elder.all(),
            "visits": _visit_counts(scoped, start, end), "requests": requests.all()}


def _visit_counts(scoped, start: datetime, end: datetime) -> list:
    """Per community: visits at the door, phone calls, elders met at the door. A call never
    counts as a visit; voided visits count for nothing."""
    door = Visit.method != VisitMethod.PHONE
    return db.session.execute(scoped(
        select(Community.name, func.count(func.distinct(case((door, Visit.id)))),
               func.count(func.distinct(case((~door, Visit.id)))),
               func.count(func.distinct(case((door & VisitRecord.outcome.in_(MET_OUTCOMES),
                                              VisitRecord.elder_id)))))
        .select_from(VisitRecord).join(Visit, VisitRecord.visit_id == Visit.id)
        .join(Elder, VisitRecord.elder_id == Elder.id))
        .where(Visit.occurred_at >= start, Visit.occurred_at < end, Visit.voided_at.is_(None))
        .group_by(Community.name).order_by(Community.name)).all()
