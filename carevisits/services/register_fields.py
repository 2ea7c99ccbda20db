"""The register's field rules, one home for the elder form and the spreadsheet import: the
fixed Chinese words of each list column with their synonyms, and the parsers of names,
phones, birth years, dates and tags. Each parser takes text as typed (full-width forms,
spaces), returns the stored value or raises FieldError with a message for the user."""

import re
import unicodedata
from datetime import date

from flask_babel import lazy_gettext as _l

from carevisits.models import CareLevel, ClosedReason, DeviceKind, LivingSituation

ACTIVE = "在册"
# Stored value → the word the spreadsheet writes first, then the words it also accepts.
LIVING_WORDS = {
    LivingSituation.ALONE: ("独居", "独居老人", "独自居住"),
    LivingSituation.EMPTY_NEST: ("空巢", "空巢老人"),
    LivingSituation.WITH_SPOUSE: ("与配偶同住", "夫妻同住", "与老伴同住", "老两口"),
    LivingSituation.WITH_FAMILY: ("与子女同住", "与家人同住", "与子女共同生活"),
    LivingSituation.CHILDLESS: ("孤寡", "孤寡老人", "五保", "五保户"),
    LivingSituation.OTHER: ("其他", "其它"),
}
CARE_WORDS = {
    CareLevel.KEY: ("重点", "重点关爱", "一级"),
    CareLevel.FOCUS: ("关注", "重点关注", "二级"),
    CareLevel.GENERAL: ("一般", "普通", "三级"),
}
STATUS_WORDS = {
    None: (ACTIVE, "正常", "在档", "在管"),
    ClosedReason.DECEASED: ("去世", "死亡", "已故", "病故", "已去世"),
    ClosedReason.MOVED_AWAY: ("搬离本街道", "搬离", "迁出", "外迁"),
    ClosedReason.CARE_HOME: ("入住养老机构", "养老院", "入住养老院", "养老机构"),
    ClosedReason.NOT_NEEDED: ("不再需要服务", "不再需要", "退出"),
}
DEVICE_WORDS = {
    DeviceKind.WATER_METER: ("水表", "智能水表", "water_meter"),
    DeviceKind.ELECTRICITY_METER: ("电表", "智能电表", "electricity_meter"),
    DeviceKind.DOOR_SENSOR: ("门磁", "门磁传感器", "门窗传感器", "door_sensor"),
    DeviceKind.SOS_BUTTON: ("紧急按钮", "一键呼叫", "呼叫按钮", "SOS", "sos_button"),
    DeviceKind.WEARABLE: ("手环", "智能手环", "穿戴设备", "wearable"),
}
DEVICE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
GENDER_WORDS = {"男": ("男", "男性", "M", "m"), "女": ("女", "女性", "F", "f")}
# Elders on a watch list are 40 to 120 years old (the youngest are disabled residents living
# alone); a birth year outside is a typing mistake or a wrong column.
MIN_AGE, MAX_AGE = 40, 120
TAG_MAX, TAGS_MAX = 10, 10  # characters per tag, tags per elder: words, not notes
MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
LANDLINE = re.compile(r"^(?:(0\d{2,3})-?)?([2-9]\d{6,7})(?:-\d{1,5})?$")
TAG_SEPARATORS = re.compile(r"[、,;\s]+")  # full-width ，；　are folded to these by NFKC
DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
YEAR_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


class FieldError(ValueError):
    """A cell whose value cannot be stored (the message is for the row-error table)."""


def allowed_values() -> dict[str, list[str]]:
    """The template's second sheet: allowed words per list column (the first is written)."""
    return {"性别": list(GENDER_WORDS), "居住情况": [w[0] for w in LIVING_WORDS.values()],
            "关爱等级": [w[0] for w in CARE_WORDS.values()],
            "状态": [w[0] for w in STATUS_WORDS.values()]}


def word_of(words: dict, value) -> str:
    """The spreadsheet's word for a stored value."""
    return words[value][0]


def _lookup(words: dict, text: str, message):
    compact = re.sub(r"\s+", "", text)
    for value, synonyms in words.items():
        if compact in synonyms:
            return value
    raise FieldError(message)


def living(text: str) -> LivingSituation:
    """居住情况 → LivingSituation."""
    return _lookup(LIVING_WORDS, text, _l("Living situation not in the list"))


def care_level(text: str) -> CareLevel:
    """关爱等级 → CareLevel."""
    return _lookup(CARE_WORDS, text, _l("Care level not in the list (重点, 关注, 一般)"))


def status(text: str) -> ClosedReason | None:
    """状态 → None (在册) or the reason the record is closed."""
    return _lookup(STATUS_WORDS, text, _l("Status not in the list"))


def gender(text: str) -> str:
    """性别 → 男 / 女."""
    return _lookup(GENDER_WORDS, text, _l("Gender must be 男 or 女"))


def plain(text: str | None) -> str:
    """Text as typed with full-width digits, letters and punctuation folded (NFKC)."""
    return unicodedata.normalize("NFKC", text or "")


def clean(text: str | None, *, lines: bool = True, fold: bool = True) -> str:
    """Text as typed in a form or read from a cell, as it is kept: full-width forms folded
    (NFKC), control and format characters and lone surrogates dropped (NUL, bell, zero-width
    space, direction marks; line breaks only when ``lines``), spaces around stripped. A text
    that is blank once cleaned is no text: the forms and the import treat it as missing.
    ``fold=False`` keeps the full-width punctuation of prose typed in a form (notes,
    messages: 糖尿病，按时服药)."""
    value = plain(text) if fold else (text or "")
    if not value.isprintable():  # the usual text is: it has no character to drop
        keep = "\n" if lines else ""
        value = "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf", "Cs") or ch in keep
                        else " " if ch == "\n" else "" for ch in value)
    return value.strip()


ADDRESS_SUFFIXES = {"building": ("号楼", "栋", "幢", "座"), "unit": ("单元",),
                    "room": ("室", "房", "号")}


def address_parts(values: dict) -> dict:
    """Address, building, unit and room as kept (the form's boxes and the import's columns
    agree): cleaned, and the 号楼 / 单元 / 室 the address shows after them (format_address)
    dropped when typed into their box — "２号楼" is building "2"."""
    parts = {}
    for key in ("address", "building", "unit", "room"):
        value = clean(values.get(key), lines=False)
        if key != "address":
            value = re.sub(r"\s+", "", value)
        for suffix in ADDRESS_SUFFIXES.get(key, ()):
            if value.endswith(suffix) and len(value) > len(suffix):
                value = value[:-len(suffix)]
                break
        parts[key] = value
    return parts


def name(text: str) -> str:
    """A person's name without the spaces typed to line names up."""
    value = re.sub(r"\s+", "", plain(text))
    if len(value) > 40:
        raise FieldError(_l("Name too long"))
    return value


def phone(text: str) -> str:
    """A mainland mobile (11 digits) or a landline (0531-86011001, 86011001); '' for none."""
    compact = re.sub(r"[\s()]+", "", plain(text))
    if not compact:
        return ""
    mobile = MOBILE.match(compact)
    if mobile:
        return mobile[1]
    if LANDLINE.match(compact) and len(compact) <= 30:
        return compact
    raise FieldError(_l("Neither a mobile number nor a landline"))


def birth_year(text: str, today: date, *, is_age: bool = False) -> int:
    """A year, a date (1942-03-05, 1942年3月, 19420305) or an age (80, 80岁) → birth year."""
    compact = re.sub(r"(周岁|岁|年)$", "", re.sub(r"\s+", "", plain(text)))
    match = DATE.match(compact) or YEAR_MONTH.match(compact)
    if match:
        year = int(match[1])
    elif re.fullmatch(r"\d{8}", compact):
        year = int(compact[:4])
    elif re.fullmatch(r"[0-9]{1,3}", compact) and (is_age or int(compact) < 150):
        year = today.year - int(compact)
    elif re.fullmatch(r"[0-9]{4}", compact):
        year = int(compact)
    else:
        raise FieldError(_l("Birth year not understood"))
    if not today.year - MAX_AGE <= year <= today.year - MIN_AGE:
        raise FieldError(_l("Implausible birth year (from %(low)s to %(high)s)",
                            low=today.year - MAX_AGE, high=today.year - MIN_AGE))
    return year


def closed_on(text: str, today: date) -> date:
    """销档日期: 2026-11-02, 2026/11/2, 2026年11月2日; not in the future."""
    match = DATE.match(re.sub(r"\s+", "", plain(text)))
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except (TypeError, ValueError):
        raise FieldError(_l("Closing date not understood (e.g. 2026-11-02)")) from None
    if day > today:
        raise FieldError(_l("The closing date cannot be in the future"))
    return day


def tags(text: str) -> list[str]:
    """行动不便、听力差 → ["行动不便", "听力差"] (any of 、,，;；or spaces between, repeats
    dropped): at most TAGS_MAX words of at most TAG_MAX characters."""
    words = list(dict.fromkeys(t for t in TAG_SEPARATORS.split(plain(text)) if t))
    if len(words) > TAGS_MAX or any(len(t) > TAG_MAX for t in words):
        raise FieldError(_l("At most %(count)d tags of at most %(max)d characters each.",
                            count=TAGS_MAX, max=TAG_MAX))
    return words


def device_kind(text: str) -> DeviceKind:
    """水表 (or water_meter …) → DeviceKind."""
    return _lookup(DEVICE_WORDS, plain(text), _l("Device kind not in the list (水表, 电表, 门磁, "
                                                  "紧急按钮, 手环)"))


def device_code(text: str) -> str:
    """A gateway's device id: 1 to 64 letters, digits or . _ : -."""
    code = plain(text).strip()
    if not DEVICE_CODE.fullmatch(code):
        raise FieldError(_l("A device id is 1 to 64 letters, digits or . _ : -"))
    return code


def devices(text: str) -> list[tuple[DeviceKind, str]]:
    """水表:WM-001、门磁:DS-7 → [(water_meter, "WM-001"), (door_sensor, "DS-7")]: each
    device as kind:id, separated as tags are."""
    found = []
    for item in TAG_SEPARATORS.split(plain(text)):
        if not item:
            continue
        kind, colon, code = item.partition(":")
        if not colon:
            raise FieldError(_l("Write each device as kind:id, e.g. 水表:WM-001"))
        found.append((device_kind(kind), device_code(code)))
    return list(dict.fromkeys(found))
