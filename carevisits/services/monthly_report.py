"""The monthly report 月度工作报表: the dashboard of a month (services/dashboard.py, the same
numbers from the same queries) as an XLSX workbook and an A4 PDF, audited as a download."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from carevisits.extensions import db
from carevisits.labels import (
    ALERT_KINDS,
    ALERT_LEVELS,
    ALERT_STATUSES,
    CARE_LEVELS,
    REQUEST_CLASSES,
)
from carevisits.models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertStatus,
    CareLevel,
    Community,
    Elder,
    Grid,
    Household,
    RequestClass,
    User,
)
from carevisits.models.household import format_address
from carevisits.services import audit, coverage, exports, report_pdf, volunteer_hours
from carevisits.services.dashboard import Dashboard, build
from carevisits.services.exports import Month, local_text
from carevisits.services.scope import household_scope

TITLE = "月度工作报表"
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "pdf": "application/pdf"}
AREA_HEADER = ["老人数(应访)", "本月已见面", "走访率(%)", "暂停", "本月销档", "逾期", "从未走访",
               "按时率(%)"]


def area_line(row: coverage.Row) -> list:
    """A row's figures as every table of the report shows them."""
    return [row.elders, row.met, coverage.percent(row.rate), row.paused, row.closed, row.late,
            row.never, coverage.percent(row.on_schedule_share)]


def held_text(held: list[coverage.Held]) -> str:
    """A worker's grids of the month in words, as the dashboard lists them: 一网格 (counted
    in their row), 二网格（代班 11-10至11-14）, 三网格（11-01至11-11，计入张三）."""
    parts = []
    for h in held:
        days = f"{h.first:%m-%d}至{h.last:%m-%d}"
        if h.cover:
            parts.append(f"{h.grid}（代班 {days}）")
        elif h.counted:
            parts.append(h.grid)
        else:
            parts.append(f"{h.grid}（{days}，计入{h.main or '无人'}）")
    return "；".join(parts)


def summary_lines(board: Dashboard) -> list[list]:
    """(label, value) lines of the summary: the page's headline figures."""
    t, a, q, v = board.total, board.alerts, board.requests, board.volunteers
    lines = [["范围", board.area_label],
             ["月份", str(board.reckoning.month)],
             ["统计时点", local_text(board.reckoning.at, board.reckoning.zone)],
             ["应访老人", t.elders], ["本月已见面", t.met],
             ["走访率(%)", coverage.percent(t.rate)],
             ["暂停(不计入)", t.paused], ["本月销档(不计入)", t.closed],
             ["按时(已走访且未逾期)", t.on_schedule],
             ["按时率(%)", coverage.percent(t.on_schedule_share)],
             ["逾期", t.late], ["从未走访", t.never]]
    for level, row in sorted(t.by_level.items()):
        lines.append([f"走访率(%)·{CARE_LEVELS[level]}", coverage.percent(row.rate)])
    lines += [["未处理告警", a.open_total], ["确认用时中位数(小时)", a.median_ack_hours],
              ["办结用时中位数(小时)", a.median_resolve_hours],
              ["无人应门升级到入户查看", a.welfare_checks],
              ["未办结诉求", q.open], ["超时诉求", q.overdue]]
    for cls in RequestClass:
        done, on_time = q.finished.get(cls, (0, 0))
        lines.append([f"按时办结率(%)·{REQUEST_CLASSES[cls]}",
                      coverage.percent(q.on_time_share(cls)), f"{on_time}/{done}"])
    lines += [["志愿者人数", v.volunteers], ["志愿上门次数", v.visits],
              ["志愿服务时长(小时)", v.hours]]
    return lines


def _texts(labels: dict) -> dict:
    """A label table translated once (not once per row of a list thousands long)."""
    return {key: str(label) for key, label in labels.items()}


def _late_rows(user: User, board: Dashboard) -> list[list]:
    r, levels = board.reckoning, _texts(CARE_LEVELS)
    return [[community, grid, number, format_address(address, building, unit, room), name,
             levels[CareLevel(level)], local_text(last, r.zone) if last else "从未"]
            for community, grid, number, address, building, unit, room, name, level, last
            in db.session.execute(coverage.late_elders(user, r))]


def _alert_rows(user: User, board: Dashboard) -> list[list]:
    r = board.reckoning
    kinds, levels, statuses = _texts(ALERT_KINDS), _texts(ALERT_LEVELS), _texts(ALERT_STATUSES)
    query = (select(Alert.opened_at, Community.name, Grid.name, Elder.name, Alert.kind,
                    Alert.level, Alert.status, Alert.acknowledged_at, Alert.resolved_at)
             .select_from(Alert).join(Elder, Alert.elder_id == Elder.id)
             .join(Household, Elder.household_id == Household.id)
             .join(Grid, Household.grid_id == Grid.id)
             .join(Community, Grid.community_id == Community.id)
             .where(household_scope(user), Alert.opened_at >= r.start, Alert.opened_at < r.at)
             .order_by(Alert.opened_at))
    return [[local_text(opened, r.zone), community, grid, name, kinds[AlertKind(kind)],
             levels[AlertLevel(level)], statuses[AlertStatus(status)],
             local_text(acknowledged, r.zone) if acknowledged else "",
             local_text(resolved, r.zone) if resolved else ""]
            for opened, community, grid, name, kind, level, status, acknowledged, resolved
            in db.session.execute(query)]


def sheets(user: User, board: Dashboard) -> list[tuple[str, list[str], list[list]]]:
    """The workbook's sheets: (title, header, rows)."""
    r = board.reckoning
    _h, requests = exports.request_rows(user, r.month, r.zone)
    hours_header, hours = volunteer_hours.hours_rows(user, r.month, r.zone)
    return [
        ("汇总", ["项目", "数值", "说明"], summary_lines(board)),
        ("各社区", ["街道", "社区", *AREA_HEADER],
         [[row.parent, row.name, *area_line(row)]
          for row in board.figures.community]),
        ("各网格", ["社区", "网格", *AREA_HEADER],
         [[row.parent, row.name, *area_line(row)] for row in board.grids]),
        ("各网格员", ["网格员", "计入的老人", "本月已见面", "走访率(%)", "逾期", "从未走访",
                   "按时率(%)", "本月的网格（代班、共同负责、交接）"],
         [[w.name or "（无人负责的网格）", w.elders, w.met, coverage.percent(w.rate), w.late,
           w.never, coverage.percent(w.on_schedule_share), held_text(w.held)]
          for w in board.workers]),
        ("月末逾期老人", ["社区", "网格", "户号", "地址", "老人", "关爱等级", "最近见面"],
         _late_rows(user, board)),
        ("告警", ["发生时间", "社区", "网格", "老人", "类型", "级别", "状态", "确认时间",
                 "办结时间"],
         _alert_rows(user, board)),
        ("诉求", _h, requests),
        ("志愿服务时长", hours_header, hours),
    ]


def report(user: User, month: Month, now: datetime, zone: ZoneInfo,
           fmt: str) -> tuple[bytes, str]:
    """The report of ``month`` in the user's whole scope as (file bytes, Chinese file name);
    audited as ``report`` with the month and format."""
    board = build(user, month, now, zone)
    name = f"{TITLE}-{board.area_label}-{month}.{fmt}"
    if fmt == "xlsx":
        body = exports.workbook_bytes(sheets(user, board))
    else:
        body = report_pdf.render(board, sheets(user, board), TITLE)
    audit.record(user, "report", "month", None, month=str(month), format=fmt,
                 elders=board.total.elders)
    return body, name
