"""Demo data: one street of fictional households, elders, accounts and a month of visits."""

import random
import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import func, select, update

from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import (
    MET_OUTCOMES,
    CareLevel,
    Community,
    Delivery,
    Elder,
    FamilyLink,
    Frequency,
    Grid,
    GridAssignment,
    Household,
    LivingSituation,
    MemberStatus,
    MenuEntry,
    Mood,
    Outcome,
    RequestClass,
    RequestSource,
    RequestStatus,
    Role,
    Roster,
    RosterMember,
    ServiceItem,
    ServicePlace,
    Street,
    User,
    Visit,
    VisitMethod,
    VisitRecord,
    VolunteerProfile,
    VolunteerStatus,
)
from carevisits.models.base import utcnow
from carevisits.services import menus, requests, schedule
from carevisits.services.doorcodes import issue_code, new_household_number

# Public on purpose (README): the demo's accounts are for trying the app out, never real.
DEMO_PASSWORD = "carevisits-demo"  # nosec B105
STREET = "泉城路街道"
# community → (hotline, road names of its households)
COMMUNITIES = {
    "芙蓉街社区": ("0531-86011001", ["芙蓉街", "曲水亭街"]),
    "县西巷社区": ("0531-86011002", ["县西巷", "西更道"]),
    "省府前街社区": ("0531-86011003", ["省府前街", "院西大街"]),
}
GRIDS_PER_COMMUNITY = 2
HOUSEHOLDS_PER_GRID = 25
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟万段"
)
FEMALE = ["秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "淑珍", "玉珍", "素芳", "翠花",
          "凤兰", "淑英", "玉梅", "兰英", "美华", "素珍", "月娥", "金凤", "爱华", "丽华"]
MALE = ["建国", "建华", "国强", "德明", "志刚", "振华", "福生", "德胜", "永福", "保国",
        "文华", "树林", "长山", "宝山", "金生", "庆祥", "玉林", "洪亮", "守仁", "家顺"]
CHILDREN = ["磊", "静", "伟", "敏", "强", "丽", "军", "燕", "涛", "娜", "斌", "霞"]
RELATIONS = ["儿子", "女儿", "侄子", "外甥女"]
HEALTH = ["", "", "高血压,按时服药", "糖尿病", "腿脚不便,上下楼需搀扶", "听力较差,敲门需用力",
          "冠心病", "轻度认知障碍,注意煤气安全", "白内障术后"]
TAGS = ["行动不便", "听力差", "视力差", "独居失能", "需用力敲门", "养狗"]
CARE_WEIGHTS = {CareLevel.KEY: 0.2, CareLevel.FOCUS: 0.35, CareLevel.GENERAL: 0.45}
HISTORY_DAYS = 30


def demo_loaded() -> bool:
    """Whether the demo street is already in the database."""
    return db.session.scalar(select(Street.id).where(Street.name == STREET)) is not None


def load_demo(seed: int = 2026) -> dict[str, int]:
    """Build the demo street once; returns counts of what was added (empty if present)."""
    if demo_loaded():
        return {}
    # Seeded, not secret: the same fictional street on every machine. Door tokens and
    # household numbers come from ``secrets`` (services/doorcodes.py), not from here.
    rng = random.Random(seed)  # nosec B311
    street = Street(name=STREET)
    db.session.add(street)
    grids: list[tuple[Grid, list[str]]] = []
    for cname, (hotline, roads) in COMMUNITIES.items():
        community = Community(street=street, name=cname, hotline=hotline)
        db.session.add(community)
        for n in ("第一网格", "第二网格")[:GRIDS_PER_COMMUNITY]:
            grid = Grid(community=community, name=n)
            db.session.add(grid)
            grids.append((grid, roads))
    db.session.flush()

    workers = _accounts(street, [g for g, _ in grids])
    names = _name_pool(rng)
    elders_by_grid: dict[int, list[Household]] = {}
    n_elders = 0
    taken: set[tuple[str, str, str, str]] = set()  # one household per address in the street
    for grid, roads in grids:
        compounds = [f"{road}{rng.randint(1, 60)}号院" for road in roads]
        households = []
        for i in range(HOUSEHOLDS_PER_GRID):
            address = _free_address(taken, compounds[i % 2], str(i // 10 + 1),
                                    str(rng.randint(1, 3)), rng.randint(1, 6), rng.randint(1, 4))
            hh = Household(grid=grid, number=new_household_number(), address=address[0],
                           building=address[1], unit=address[2], room=address[3])
            db.session.add(hh)
            couple = rng.random() < 0.13
            for k in range(2 if couple else 1):
                hh.elders.append(_elder(rng, names, couple, female=(k == 1) if couple else None))
                n_elders += 1
            households.append(hh)
        db.session.flush()
        for hh in households:
            issue_code(hh)
        elders_by_grid[grid.id] = households
    menus.seed_catalogue()
    db.session.add_all(ServiceItem(street=street, name=name, category=category, unit=unit,
                                   place=place)
                       for name, (category, unit, place) in STREET_SERVICES.items())
    db.session.flush()
    menu = _menus(rng, elders_by_grid)
    n_visits = _volunteers(rng, workers, elders_by_grid, menu)
    n_visits += _history(rng, grids, workers, elders_by_grid, menu)
    _requests(rng, elders_by_grid, workers)
    _family(workers, elders_by_grid)
    return {"households": len(grids) * HOUSEHOLDS_PER_GRID, "elders": n_elders,
            "visits": n_visits}


def _free_address(taken: set, address: str, building: str, unit: str, floor: int,
                  door: int) -> tuple[str, str, str, str]:
    """The address drawn, or the next free door up the same stairwell when a household of
    the street lives there already (two grids of a community share its roads); drawing
    nothing more keeps the rest of the demo as the seed makes it."""
    for step in range(6 * 4 * 10):
        f, d = divmod((floor - 1) * 4 + door - 1 + step, 4)
        key = (address, building, unit, f"{f % 30 + 1}0{d + 1}")
        if key not in taken:
            taken.add(key)
            return key
    raise AssertionError("no free address in the demo stairwell")


def _accounts(street: Street, grids: list[Grid]) -> dict[int, User]:
    """The demo sign-ins; returns the grid worker of each grid."""
    def add(username, name, role, **scope):
        user = User(username=username, display_name=name, role=role, **scope,
                    phone=f"1390531{len(username):04d}")
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        return user

    add("admin", "系统管理员", Role.ADMIN)
    add("coordinator", "刘协调", Role.COORDINATOR, street=street)
    # worker and worker2 cover grids of two different communities.
    order = [0, 2, 1, 3, 4, 5]
    names = ["张网格", "王网格", "李网格", "赵网格", "孙网格", "周网格"]
    workers = {}
    for i, gi in enumerate(order):
        username = "worker" if i == 0 else f"worker{i + 1}"
        workers[grids[gi].id] = worker = add(username, names[i], Role.GRID_WORKER)
        # Their own grid since well before the visit history begins.
        db.session.add(GridAssignment(grid=grids[gi], user=worker, starts_on=_local_today()
                                      - timedelta(days=HISTORY_DAYS + 30)))
    add("volunteer", "陈志愿", Role.VOLUNTEER)
    add("newvolunteer", "吴热心", Role.VOLUNTEER)  # a sign-up waiting for the coordinator
    add("family", "黄家属", Role.FAMILY)
    db.session.flush()
    return workers


def _name_pool(rng: random.Random) -> list[tuple[str, str]]:
    """Unique (name, gender) pairs, shuffled."""
    pool = [(s + g, "女") for s in SURNAMES for g in FEMALE] + \
           [(s + g, "男") for s in SURNAMES for g in MALE]
    rng.shuffle(pool)
    return pool


def _elder(rng: random.Random, names: list, couple: bool, female: bool | None) -> Elder:
    while True:
        name, gender = names.pop()
        if female is None or (gender == "女") == female:
            break
    level = rng.choices(list(CARE_WEIGHTS), weights=list(CARE_WEIGHTS.values()))[0]
    return Elder(
        name=name, gender=gender, birth_year=rng.randint(1928, 1956),
        phone=f"1{rng.choice('3579')}{rng.randint(0, 9)}{rng.randint(10**7, 10**8 - 1)}",
        emergency_contacts=[{
            "name": f"{name[0]}{rng.choice(CHILDREN)}", "relation": rng.choice(RELATIONS),
            "phone": f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(10**7, 10**8 - 1)}"}],
        tags=rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2])),
        living_situation=LivingSituation.WITH_SPOUSE if couple else LivingSituation.ALONE,
        care_level=level, health_notes=rng.choice(HEALTH),
    )


DEMO_MENU = [("量血压", Frequency.WEEKLY), ("助餐", Frequency.EVERY_VISIT),
             ("助洁", Frequency.MONTHLY), ("谈心疏导", Frequency.EVERY_VISIT),
             ("代买药", Frequency.ON_REQUEST), ("洗衣", Frequency.WEEKLY)]
# The demo street's own services, besides the shared catalogue: kept by its coordinator.
STREET_SERVICES = {"长者食堂送餐": ("生活照料", "份", ServicePlace.DOOR),
                   "泉水茶话会": ("精神慰藉", "次", ServicePlace.CENTRE)}
DEMO_REQUESTS = [("房屋维修", "厨房水龙头漏水，需要找人修理", RequestClass.BIGGER),
                 ("医疗健康", "想预约社区医院的上门体检", RequestClass.SMALL),
                 ("生活照料", "冬季取暖费如何缴纳，需要帮忙", RequestClass.SMALL),
                 ("政策咨询", "咨询高龄津贴申请手续", RequestClass.HARD)]


def _menus(rng, households_by_grid) -> dict[int, list[MenuEntry]]:
    """Agreed service menus for about two elders in three; elder id → entries."""
    items = {i.name: i for i in db.session.scalars(select(ServiceItem))}
    start = (utcnow() - timedelta(days=HISTORY_DAYS + 5)).date()
    menu: dict[int, list[MenuEntry]] = {}
    for households in households_by_grid.values():
        for hh in households:
            for elder in hh.elders:
                if rng.random() < 0.65:
                    menu[elder.id] = [MenuEntry(elder=elder, item=items[name],
                                                frequency=frequency, starts_on=start)
                                      for name, frequency in
                                      rng.sample(DEMO_MENU, rng.randint(1, 3))]
                    db.session.add_all(menu[elder.id])
    return menu


def _requests(rng, households_by_grid, workers) -> None:
    """A few requests per grid: some done, some open, one past its 7123 deadline."""
    now = utcnow()
    for grid_id, households in households_by_grid.items():
        for n, hh in enumerate(rng.sample(households, 4)):
            kind, text, size = DEMO_REQUESTS[n]
            raised = now - timedelta(days=[6, 3, 0.2, 1.5][n])
            request = requests.raise_request(hh.elders[0], kind=kind, description=text,
                                             request_class=size, source=RequestSource.VISIT,
                                             actor=workers[grid_id], at=raised)
            if n == 0:
                request.status, request.resolution = RequestStatus.CLOSED, "已联系物业维修"
                request.finished_at = raised + timedelta(hours=20)


def _family(workers, households_by_grid) -> None:
    """The demo family account follows the first elder on worker's round, readings included."""
    worker = next(w for w in workers.values() if w.username == "worker")
    elder = households_by_grid[worker.grid_id][0].elders[0]
    user = db.session.scalar(select(User).where(User.username == "family"))
    db.session.add(FamilyLink(user=user, elder=elder, relation="女儿", may_see_observations=True))


def _volunteers(rng, workers, households_by_grid, menu) -> int:
    """volunteer: approved, leader of a weekly morning roster of five doors on worker's grid,
    with its last three mornings of visits; newvolunteer: a sign-up waiting for the
    coordinator. The roster meets on the weekday of two days ago, so that the demo looks the
    same whatever day it is loaded on."""
    worker = next(w for w in workers.values() if w.username == "worker")
    community = worker.grid.community
    users = {u.username: u for u in db.session.scalars(
        select(User).where(User.role == Role.VOLUNTEER))}
    volunteer = users["volunteer"]
    last_meeting = _local_today() - timedelta(days=2)
    day_name = "周" + "一二三四五六日"[last_meeting.weekday()]
    db.session.add_all([
        VolunteerProfile(user=volunteer, community=community, availability=f"{day_name}上午",
                         status=VolunteerStatus.APPROVED, reviewed_at=utcnow()),
        VolunteerProfile(user=users["newvolunteer"], community=community,
                         availability="工作日晚上、周日全天"),
    ])
    roster = Roster(name=f"{day_name}上午探访队", community=community,
                    weekday=last_meeting.weekday(), start_time=time(9, 30), visit_minutes=40,
                    capacity=4, leader=volunteer,
                    households=households_by_grid[worker.grid_id][1:6])
    db.session.add_all([roster, RosterMember(roster=roster, user=volunteer,
                                             status=MemberStatus.APPROVED, decided_at=utcnow())])
    count = 0
    for weeks_ago in (0, 1, 2):
        day = last_meeting - timedelta(weeks=weeks_ago)
        for i, hh in enumerate(roster.households[:3]):
            at = datetime.combine(day, time(9, 40), local_zone()) + timedelta(minutes=25 * i)
            visit = _visit(rng, volunteer, hh, at, menu, readings=False)
            visit.roster, visit.duration_minutes = roster, rng.choice([None, 30, 45, 60])
            visit.duration_minutes = visit.duration_minutes or roster.visit_minutes
            db.session.add(visit)
            count += 1
    return count


def _local_today():
    return utcnow().astimezone(local_zone()).date()


def _daytime(rng, days_ago: int) -> datetime:
    """A moment of the working day ``days_ago`` local days back (8:30–17:30) and a little
    before now: rounds happen in the daytime. Today before 8:50 has none yet: the visit
    moves to yesterday's working day."""
    latest = utcnow() - timedelta(minutes=rng.randint(20, 90))
    start = datetime.combine(_local_today() - timedelta(days=days_ago), time(8, 30), local_zone())
    if start > latest:
        start -= timedelta(days=1)
    minutes = min(540, int((latest - start).total_seconds() // 60))
    return start + timedelta(minutes=rng.randint(0, minutes))


def _history(rng, grids, workers, households_by_grid, menu) -> int:
    """A month of visits on each elder's schedule, with the odd gap and missed door."""
    count = 0
    for grid, _ in grids:
        worker = workers[grid.id]
        for hh in households_by_grid[grid.id]:
            interval = min(e.care_level.interval_days for e in hh.elders)
            lag = rng.choice([0] * 8 + [1, 2, 4])  # some doors are behind schedule
            day = HISTORY_DAYS
            while day >= lag:
                db.session.add(_visit(rng, worker, hh, _daytime(rng, day), menu))
                count += 1
                day -= interval
    db.session.flush()
    _set_last_contacts()
    db.session.expire_all()
    schedule.refresh(db.session.scalars(select(Elder)))
    return count


def _visit(rng, worker: User, hh: Household, at, menu, readings: bool = True) -> Visit:
    visit = Visit(household=hh, visitor=worker, method=VisitMethod.SCANNED, server_time=at,
                  client_time=at, occurred_at=at, idempotency_key=f"demo-{uuid.uuid4().hex}")
    roll = rng.random()
    base = (Outcome.MET_WELL if roll < 0.82 else Outcome.MET_CONCERN if roll < 0.9
            else Outcome.NOT_AT_HOME if roll < 0.96 else Outcome.NO_ANSWER)
    for elder in hh.elders:
        rec = VisitRecord(elder=elder, outcome=base, notes="")
        if base in MET_OUTCOMES:
            rec.mood = rng.choice([Mood.GOOD, Mood.GOOD, Mood.FAIR, Mood.LOW])
            if readings and rng.random() < 0.6:
                rec.systolic = rng.randint(112, 168)
                rec.diastolic = rng.randint(68, min(98, rec.systolic - 30))
                rec.pulse = rng.randint(58, 96)
            if base == Outcome.MET_CONCERN:
                rec.notes = rng.choice(["感冒咳嗽,已提醒就医", "家中存粮不多,联系子女",
                                        "情绪低落,多陪聊了一会儿", "膝盖疼,行走困难"])
        visit.records.append(rec)
        if base in MET_OUTCOMES:
            db.session.add_all(
                Delivery(visit=visit, elder=elder, item=entry.item, quantity=1, delivered_at=at)
                for entry in menu.get(elder.id, []) if entry.frequency == Frequency.EVERY_VISIT
                or (entry.frequency == Frequency.WEEKLY and rng.random() < 0.3))
    return visit


def _set_last_contacts() -> None:
    """Derive each elder's last contact from the history just written."""
    last = (
        select(func.max(Visit.occurred_at))
        .join(VisitRecord, VisitRecord.visit_id == Visit.id)
        .where(VisitRecord.elder_id == Elder.id, VisitRecord.outcome.in_(MET_OUTCOMES))
        .scalar_subquery()
    )
    db.session.execute(update(Elder).values(last_contact_at=last))
