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
    dropped when typed into their box — "２号楼" is building "2". Building, unit and room
    may be blank; when all three are, the address is split (split_address), so that
    湖滨路60号2-2-402 typed in one box is the household of 湖滨路60号 2号楼 2单元 402室."""
    if not any(clean(values.get(key)) for key in ("building", "unit", "room")):
        values = dict(zip(("address", "building", "unit", "room"),
                          split_address(clean(values.get("address"), lines=False)),
                          strict=True))
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


# Phones as people write them: 139-5140-3729, 138 0000 1111/0531-8888 6666, （0531）88886666,
# +86 138…, 0531-88886666转123. A number is a run of digit groups split by spaces, dashes,
# dots or brackets; numbers are split by the separators below (or by a space where the
# groups before it already make a whole number).
NUMBER_SEPARATORS = re.compile(r"[/,;、|\n]|或|和|及")
PHONE_LABELS = re.compile(r"(?i)手机号码?|移动电话|联系电话|电话号码|电话|手机|座机|固话|宅电|"
                          r"tel|mobile|phone|本人")
PHONE_TOKEN = re.compile(r"(?P<digits>[0-9]+)|(?P<ext>转|分机|(?i:ext)\.?)|"
                         r"(?P<sep>[\s\-.()\[\]+:‐‑‒–—―]+)|(?P<text>.)")
MOBILE = re.compile(r"(?:0086|86)?(1[3-9][0-9]{9})")
AREA_CODE = r"0(?:10|2[0-9]|[3-9][0-9]{2})"  # 010, 02x, then four digits: 0531
LANDLINE = re.compile(rf"({AREA_CODE})?([2-9][0-9]{{6,7}})")
ABROAD_LANDLINE = re.compile(r"(?:0086|86)([1-9][0-9]{8,10})")  # +86 531 88886666
GROUPS_PER_NUMBER = 6  # 0086 138 0000 1111: a number is written in at most this many groups


def _number(digits: str) -> str | None:
    """Digits of one number → the number as kept (13800001111, 0531-88886666, 88886666);
    None when they are not a whole number."""
    if mobile := MOBILE.fullmatch(digits):
        return mobile[1]
    if landline := LANDLINE.fullmatch(digits):
        return f"{landline[1]}-{landline[2]}" if landline[1] else landline[2]
    if (abroad := ABROAD_LANDLINE.fullmatch(digits)) and LANDLINE.fullmatch("0" + abroad[1]):
        return _number("0" + abroad[1])
    return None


def _longest_number(tokens: list, start: int) -> tuple[int, str] | None:
    """The most digit groups from ``start`` on that make one number: (groups, number)."""
    best, digits = None, ""
    for end in range(start, min(len(tokens), start + GROUPS_PER_NUMBER)):
        if tokens[end].lastgroup != "digits":
            break
        digits += tokens[end][0]
        if number := _number(digits):
            best = (end + 1 - start, number)
    return best


def _piece_numbers(piece: str) -> tuple[list[str], list[str]]:
    """The numbers of one piece of a phone cell (between separators) and what is left."""
    piece = PHONE_LABELS.sub(" ", piece)
    tokens = [t for t in PHONE_TOKEN.finditer(piece) if t.lastgroup != "sep"]
    numbers, unread, left = [], [], []
    i = 0
    while i < len(tokens):
        found = _longest_number(tokens, i) if tokens[i].lastgroup == "digits" else None
        if found is None:
            left.append(tokens[i])
            i += 1
            continue
        if left:
            unread.append(piece[left[0].start():left[-1].end()].strip())
            left = []
        count, number = found
        i += count
        if "-" in number or not number.startswith("1"):  # a landline may have an extension
            extension = _extension(tokens, i, piece)
            if extension:
                number, i = f"{number}转{extension[0]}", extension[1]
        numbers.append(number)
    if left:
        unread.append(piece[left[0].start():left[-1].end()].strip())
    return numbers, unread


def _extension(tokens: list, i: int, piece: str) -> tuple[str, int] | None:
    """An extension after a landline (转123, 分机123, or -123 when 123 starts no number):
    its digits and the token after it."""
    if (i + 1 < len(tokens) and tokens[i].lastgroup == "ext"
            and tokens[i + 1].lastgroup == "digits" and len(tokens[i + 1][0]) <= 6):
        return tokens[i + 1][0], i + 2
    if (i < len(tokens) and tokens[i].lastgroup == "digits" and len(tokens[i][0]) <= 4
            and "-" in piece[tokens[i - 1].end():tokens[i].start()]
            and _longest_number(tokens, i) is None):
        return tokens[i][0], i + 1
    return None


def phones(text: str) -> tuple[list[str], list[str]]:
    """Every number in a phone cell, each as kept (mobiles as 11 digits, landlines as
    0531-88886666 or 88886666, an extension as 转123), repeats dropped, in the cell's order;
    and the parts of the cell that are no number (text, stray digits), to be reported.
    ``138 0000 1111`` is one mobile, ``0531-8888 6666`` one landline,
    ``138 0000 1111/0531-8888 6666`` and ``13800001111 13900002222`` two numbers."""
    numbers, unread = [], []
    for piece in NUMBER_SEPARATORS.split(plain(text)):
        found, left = _piece_numbers(piece)
        numbers += found
        unread += [part for part in left if part]
    return list(dict.fromkeys(numbers)), unread


def phone(text: str) -> str:
    """One number as the forms take it (see phones): '' for none; FieldError for text that
    is no number or holds more than one."""
    numbers, unread = phones(text)
    if unread or (not numbers and plain(text).strip()):
        raise FieldError(_l("Neither a mobile number nor a landline"))
    if len(numbers) > 1:
        raise FieldError(_l("Enter one number here"))
    return numbers[0] if numbers else ""


def is_mobile(number: str) -> bool:
    """Whether a number as kept is a mobile."""
    return bool(MOBILE.fullmatch(number))


def main_phone(numbers: list[str]) -> tuple[str, list[str]]:
    """The elder's phone and further numbers from all their numbers: the first mobile is the
    phone (the one to call and text), the others follow in their order; with no mobile the
    first number is the phone. ('', []) for none."""
    if not numbers:
        return "", []
    first = next((n for n in numbers if is_mobile(n)), numbers[0])
    return first, [n for n in numbers if n != first]


# Kinship and other relations as an 紧急联系人 cell writes them; the longest is tried first
# (外甥女 before 外甥, 大女儿 before 女儿).
RELATION_WORDS = (
    "儿子 女儿 儿媳 儿媳妇 女婿 孙子 孙女 孙媳 外孙 外孙女 侄子 侄女 侄孙 外甥 外甥女 配偶 老伴 "
    "丈夫 妻子 爱人 老伴儿 兄弟 姐妹 哥哥 弟弟 姐姐 妹妹 兄长 嫂子 弟媳 姐夫 妹夫 表哥 表姐 表弟 "
    "表妹 堂兄 堂弟 堂姐 堂妹 子女 长子 次子 长女 次女 大儿子 二儿子 小儿子 大女儿 二女儿 小女儿 "
    "干女儿 干儿子 父亲 母亲 叔叔 舅舅 姑姑 阿姨 姨妈 邻居 朋友 同事 保姆 护工 监护人 亲属 "
    "亲戚 楼长 社工")
RELATIONS = sorted(RELATION_WORDS.split(), key=len, reverse=True)
RELATION_FIRST = re.compile(rf"^({'|'.join(RELATIONS)})[\s:\-]*(.*)$")
# 王芳 女儿, or 王芳女儿 when what is left before it is a name of 2 to 4 characters.
RELATION_LAST = re.compile(rf"^(.*?[\s:\-]+|[^\s:\-]{{2,4}})({'|'.join(RELATIONS)})$")
BRACKETED = re.compile(r"^(.*?)[(\[【]([^)\]】]+)[)\]】](.*)$")
CONTACT_LABELS = re.compile(r"紧急联系人|联系人|联系电话|电话|手机|姓名|关系")
CONTACT_PUNCTUATION = " :-.()[]【】"
PERSON_SEPARATORS = re.compile(r"[,;、|/\n]+|或")
# A number in a contact cell: digit groups (at least 5 digits in all), an extension after.
CONTACT_NUMBER = re.compile(r"(?:\+|\(0)?[0-9][0-9\s\-.()+]*[0-9](?:\s*(?:转|分机)\s*[0-9]+)?")


def _person(text: str) -> tuple[str, str]:
    """One person of a contact cell → (relation, name): 女儿 王芳, 女儿：王芳, 王芳（女儿）,
    外甥女冯长林, 王芳 女儿; a word that is no relation is the name."""
    text = CONTACT_LABELS.sub(" ", text).strip(" :-.")
    relation = ""
    if bracketed := BRACKETED.match(text):
        relation = bracketed[2].strip()
        text = f"{bracketed[1]} {bracketed[3]}".strip(CONTACT_PUNCTUATION)
    elif ((first := RELATION_FIRST.match(text := text.strip(CONTACT_PUNCTUATION)))
          and len(re.sub(r"\s", "", first[2])) != 1):  # 孙女士 is a name
        relation, text = first[1], first[2]
    elif last := RELATION_LAST.match(text):
        text, relation = last[1], last[2]
    elif text in RELATIONS:
        relation, text = text, ""
    return relation, re.sub(r"[\s:]+", "", text).strip(CONTACT_PUNCTUATION)


def _side(person: tuple[str, str]) -> str:
    """Which half of a person a part gives: "relation", "name", or "" (both or neither)."""
    relation, name_ = person
    return "relation" if relation and not name_ else "name" if name_ and not relation else ""


def _people(label: str) -> list[tuple[str, str]]:
    """The people written before one number (or after it): usually one; a relation alone
    next to a name alone is one person (女儿，王芳)."""
    merged: list[tuple[str, str]] = []
    for part in PERSON_SEPARATORS.split(label):
        person = _person(part)
        if merged and _side(person) and _side(merged[-1]) not in ("", _side(person)):
            previous = merged.pop()
            person = (person[0] or previous[0], person[1] or previous[1])
        merged.append(person)
    return [p for p in merged if p[0] or p[1]]


def contacts(text: str) -> tuple[list[dict], list]:
    """An 紧急联系人及电话 cell → the contacts in it, each {"relation", "name", "phone"} (the
    phone as ``phones`` keeps it), and the warnings (messages) for what could not be fully
    used: a contact without a number, a number without a name, text that is no number.
    Accepted: 女儿 王芳 13912345678, 女儿王芳 139-1234-5678, 女儿：王芳，13912345678,
    王芳（女儿）13912345678, 外甥女冯长林15197402358, several contacts in one cell (女儿 王芳
    139…；儿子 王强 138…), the number first (13912345678 王芳), a name alone, a number
    alone. A contact with two numbers is two contacts (same name and relation, one number
    each), the order kept: the first is called first."""
    text = plain(text)
    runs = [m for m in CONTACT_NUMBER.finditer(text) if len(re.sub(r"\D", "", m[0])) >= 5]
    bounds = [0, *(x for m in runs for x in (m.start(), m.end())), len(text)]
    gaps = [text[bounds[k]:bounds[k + 1]] for k in range(0, len(bounds), 2)]
    labels, trailing = gaps[:-1], gaps[-1]
    if runs and not _people(labels[0]) and _people(trailing):  # 13912345678 王芳 …
        labels, trailing = gaps[1:], ""
    found, warnings = [], []
    person = ("", "")
    for run, label in zip(runs, labels, strict=True):
        people = _people(label)
        for relation, name_ in people[:-1]:
            warnings.append(_l("Contact %(name)s has no phone number", name=name_ or relation))
            found.append({"relation": relation, "name": name_, "phone": ""})
        person = people[-1] if people else person  # no name: the one before has two numbers
        numbers, unread = phones(run[0])
        warnings += [_l("Could not read %(text)s as a phone number", text=part)
                     for part in unread]
        if not numbers and any(person):
            warnings.append(_l("Contact %(name)s has no phone number", name=person[1] or person[0]))
            found.append({"relation": person[0], "name": person[1], "phone": ""})
        for number in numbers:
            if not any(person):
                warnings.append(_l("The number %(phone)s has no name", phone=number))
            found.append({"relation": person[0], "name": person[1], "phone": number})
    after = _people(trailing)
    if len(after) == 1 and _side(after[0]) == "relation" and found and not found[-1]["relation"]:
        found[-1]["relation"], after = after[0][0], []  # 王芳 13912345678（女儿）
    for relation, name_ in after:
        warnings.append(_l("Contact %(name)s has no phone number", name=name_ or relation))
        found.append({"relation": relation, "name": name_, "phone": ""})
    for contact in found:
        if len(contact["name"]) > 40 or len(contact["relation"]) > 20:
            warnings.append(_l("Contact %(name)s: name or relation too long",
                               name=contact["name"][:40]))
            contact["name"], contact["relation"] = contact["name"][:40], contact["relation"][:20]
    unique = list({tuple(c.items()): c for c in found}.values())
    return unique, warnings


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"  # ISO 7064 MOD 11-2: the check character of sum % 11


def id_card(text: str) -> tuple[date, str]:
    """身份证号 → (birth date, 男/女). An 18-digit number (the last may be X or x; spaces,
    full-width digits allowed): its check digit verified (ISO 7064 MOD 11-2), the birth date
    (digits 7–14) a real day, the gender from the 17th digit (odd 男, even 女). An old
    15-digit number (cards issued before 1999; no check digit) is accepted as well: its birth
    date is 19YYMMDD (digits 7–12) and its gender the last digit; only the date can catch a
    typing mistake there. FieldError otherwise."""
    number = re.sub(r"[\s\-]+", "", plain(text)).upper()
    if re.fullmatch(r"[0-9]{17}[0-9X]", number):
        check = ID_CHECK[sum(int(d) * w for d, w in zip(number, ID_WEIGHTS, strict=False)) % 11]
        if number[-1] != check:
            raise FieldError(_l("The ID number's check digit is wrong: a digit is mistyped"))
        birth, sex = number[6:14], number[16]
    elif re.fullmatch(r"[0-9]{15}", number):
        birth, sex = "19" + number[6:12], number[14]
    else:
        raise FieldError(_l("An ID number has 18 digits (the last may be X)"))
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise FieldError(_l("The ID number holds no real birth date")) from None
    if born.year < 1880:
        raise FieldError(_l("The ID number holds no real birth date"))
    return born, "男" if int(sex) % 2 else "女"


# An address in one cell: 芙蓉街37号院2号楼3单元302室, 芙蓉街37号院2-3-302, 泉城路12号1单元301,
# 泉城路12号302室; anything else (明湖西街74号, 曲水亭街东巷3号院) is an address of its own.
ADDRESS_PATTERNS = (
    re.compile(r"^(?P<address>.+?)(?P<building>[0-9A-Za-z]+)(?:号楼|栋|幢|座)"
               r"(?:(?P<unit>[0-9A-Za-z]+)单元)?(?:(?P<room>[0-9A-Za-z]+)(?:室|号|房)?)?$"),
    re.compile(r"^(?P<address>.*?\D)(?P<building>[0-9]+)-(?:(?P<unit>[0-9]+)-)?"
               r"(?P<room>[0-9]+)(?:室|号|房)?$"),
    re.compile(r"^(?P<address>.+?)(?P<unit>[0-9A-Za-z]+)单元(?P<room>[0-9A-Za-z]+)(?:室|号|房)?$"),
    re.compile(r"^(?P<address>.*?\D)(?P<room>[0-9A-Za-z]+)室$"),
)
DASHES = re.compile(r"[‐‑‒–—―－]")


def split_address(text: str) -> tuple[str, str, str, str]:
    """An address written in one cell → (address, building, unit, room), the parts it does
    not give blank; never fails: text that names no building, unit or room is the address
    itself (a 平房 such as 明湖西街74号). One address written two ways gives one answer:
    湖滨路60号2-2-402, 湖滨路60号2号楼2单元402室 and 湖滨路60号2号楼2单元402 are all
    (湖滨路60号, 2, 2, 402)."""
    compact = DASHES.sub("-", re.sub(r"\s+", "", plain(text)))
    for pattern in ADDRESS_PATTERNS:
        if match := pattern.match(compact):
            parts = match.groupdict()
            return (parts["address"], parts.get("building") or "", parts.get("unit") or "",
                    parts.get("room") or "")
    return compact, "", "", ""
