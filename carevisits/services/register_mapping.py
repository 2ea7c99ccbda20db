"""Which column of a street's own spreadsheet is which field of the register, and which of its
words are which allowed value: the mapping of an import.

A header matches a field when it is one of the field's names or *contains* one (户主/老人姓名,
老人姓名（户主）, 联系电话1): the longest name found wins, so 紧急联系人电话 is the contact's
phone and not the elder's. What the coordinator chooses overrides the guess, column by column
and value by value; the choice is kept per street (Street.import_mapping) and offered with the
next file. As JSON (the command line's ``--mapping`` file, ``--show-mapping``)::

    {"columns": {"<file header>": "<template header or 不导入>"},
     "values": {"<template header>": {"<file value>": "<allowed value>"}}}
"""

import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from carevisits.models import Street, User
from carevisits.services import audit, register_fields

# Field key → the template's header, then the other names streets' own sheets give it.
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("户号", "门牌编号", "户编号"),
    "community": ("社区", "所属社区", "社区名称", "居委会"),
    "grid": ("网格", "所属网格", "网格名称"),
    "address": ("住址", "地址", "家庭住址", "居住地址", "详细地址", "现住址"),
    "building": ("楼号", "楼", "楼栋", "楼座"),
    "unit": ("单元", "单元号"),
    "room": ("房号", "室", "房间号", "门牌号"),
    "name": ("姓名", "老人姓名", "名字"),
    "gender": ("性别",),
    "birth": ("出生年份", "出生日期", "出生年月"),
    "phone": ("联系电话", "电话", "手机号", "手机", "本人电话", "联系方式"),
    "other_phones": ("其他电话", "备用电话", "座机", "固定电话", "家庭电话", "电话2", "手机2"),
    "living": ("居住情况", "居住状况", "居住状态", "类别"),
    "care": ("关爱等级", "照护等级", "等级"),
    "health": ("健康状况", "健康备注", "身体状况", "健康状态", "身体状态"),
    "tags": ("标签", "上门须知", "注意事项"),
    "notes": ("备注", "说明"),
    "c1_name": ("紧急联系人", "紧急联系人1", "联系人", "家属姓名", "子女姓名", "监护人"),
    "c1_relation": ("与老人关系", "关系", "关系1"),
    "c1_phone": ("紧急联系电话", "紧急联系电话1", "联系人电话", "紧急联系人电话", "家属电话",
                 "子女电话", "监护人电话", "家属联系电话"),
    "c2_name": ("紧急联系人2", "联系人2"),
    "c2_relation": ("关系2", "与老人关系2"),
    "c2_phone": ("紧急联系电话2", "联系人电话2", "紧急联系人电话2"),
    "status": ("状态", "在册状态"),
    "closed_on": ("销档日期", "注销日期"),
    # Not in the template, read when a file has them:
    "contacts": ("紧急联系人及电话", "紧急联系人及联系方式", "联系人及电话", "紧急联系人信息",
                 "亲属及电话", "家属及电话"),
    "age": ("年龄", "周岁"),
    "id_card": ("身份证号", "身份证", "身份证号码", "公民身份号码"),
    "devices": ("设备编号", "设备", "智能设备"),  # the household's devices: 水表:WM-001
    "error": ("错误", "错误说明"),  # the columns our error file adds: ignored on re-upload
    "warning": ("提醒",),
}
EXTRA_KEYS = ("contacts", "age", "id_card", "devices", "error", "warning")
TEMPLATE_KEYS = [k for k in COLUMNS if k not in EXTRA_KEYS]
HEADER = [COLUMNS[k][0] for k in TEMPLATE_KEYS]
SKIP = "不导入"  # the mapping's word for a column left out on purpose
# Columns that are read but never kept: where the value goes instead is said on the preview.
NOT_STORED = frozenset({"id_card", "error", "warning"})
# Columns whose cells are one of a few words: their other words can be mapped.
LIST_KEYS = ("gender", "living", "care", "status")
_BY_NAME = {name: key for key, names in COLUMNS.items() for name in names}
_BY_HEADER = {names[0]: key for key, names in COLUMNS.items()}


def header_word(cell: str) -> str:
    """A header cell as the names are written: folded, without spaces (姓　名 → 姓名)."""
    return re.sub(r"\s+", "", register_fields.plain(cell))


def guess(header: str) -> str | None:
    """The field a header names: one of its names, else the longest name it contains (of two
    characters or more: 楼 and 室 only as themselves)."""
    word = header_word(header)
    if word in _BY_NAME:
        return _BY_NAME[word]
    found = [name for name in _BY_NAME if len(name) > 1 and name in word]
    return _BY_NAME[max(found, key=len)] if found else None


class MappingError(ValueError):
    """A mapping file or form that names no field or value we know (message for users)."""


@dataclass
class Mapping:
    """The coordinator's choices: a field (or None: not imported) per file header, and per
    list field the allowed word for each of the file's own words."""

    columns: dict[str, str | None] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    def key_of(self, header: str) -> str | None:
        """The field of a column: chosen, else guessed."""
        word = header_word(header)
        return self.columns[word] if word in self.columns else guess(header)

    def value(self, key: str, text: str) -> str:
        """A list cell in the allowed words (the file's own word when none is chosen)."""
        return self.values.get(key, {}).get(re.sub(r"\s+", "", text), text)

    def merged(self, other: "Mapping") -> "Mapping":
        """These choices, with ``other``'s on top."""
        values = {k: {**self.values.get(k, {}), **other.values.get(k, {})}
                  for k in {*self.values, *other.values}}
        return Mapping({**self.columns, **other.columns}, values)

    def as_json(self, headers: list[str] | None = None) -> dict:
        """The mapping file: the field of every given header (chosen or guessed; only the
        chosen ones without headers) and every value choice, in template headers."""
        chosen = dict(self.columns) if headers is None else {
            header_word(h): self.key_of(h) for h in headers if h}
        return {"columns": {h: COLUMNS[k][0] if k else SKIP for h, k in chosen.items()},
                "values": {COLUMNS[k][0]: dict(v) for k, v in self.values.items() if v}}

    @classmethod
    def from_json(cls, data) -> "Mapping":
        """A mapping from its JSON form; MappingError naming every unknown header or word."""
        if not isinstance(data, dict):
            raise MappingError(_l("A mapping is a JSON object with columns and values."))
        problems, columns, values = [], {}, {}
        for header, target in (data.get("columns") or {}).items():
            if target != SKIP and target not in _BY_HEADER:
                problems.append(str(_l("%(header)s: no such field %(target)s", header=header,
                                       target=target)))
            columns[header_word(str(header))] = None if target == SKIP else _BY_HEADER.get(target)
        for target, words in (data.get("values") or {}).items():
            key = _BY_HEADER.get(target)
            if key not in LIST_KEYS or not isinstance(words, dict):
                problems.append(str(_l("%(target)s has no list of values", target=target)))
                continue
            allowed = allowed_words(key)
            for value in words.values():
                if value not in allowed:
                    problems.append(str(_l("%(target)s: %(value)s is not an allowed value",
                                           target=target, value=value)))
            values[key] = {re.sub(r"\s+", "", str(w)): v for w, v in words.items()}
        if problems:
            raise MappingError("；".join(problems))
        return cls(columns, values)


def header_of(key: str) -> str:
    """The template's header of a field."""
    return COLUMNS[key][0]


def allowed_words(key: str) -> list[str]:
    """The allowed words of a list field (the template's second sheet)."""
    return register_fields.allowed_values()[COLUMNS[key][0]]


def targets() -> list[tuple[str, str]]:
    """What a column can be mapped to: (template header, header) of every field, then 不导入."""
    keys = [k for k in COLUMNS if k not in ("error", "warning")]
    return [(COLUMNS[k][0], COLUMNS[k][0]) for k in keys] + [(SKIP, SKIP)]


def saved(street: Street) -> Mapping:
    """The street's mapping as last chosen (an empty one when none, or when the words it
    names are no longer ours)."""
    try:
        return Mapping.from_json(street.import_mapping) if street.import_mapping else Mapping()
    except MappingError:
        return Mapping()


def save(street: Street, mapping: Mapping, actor: User | None) -> None:
    """Keep the mapping for the street's next file (its choices on top of the saved ones)."""
    merged = saved(street).merged(mapping).as_json()
    if (merged["columns"] or merged["values"]) and merged != street.import_mapping:
        street.import_mapping = merged
        audit.record(actor, "register.mapping", "street", street.id, mapping=merged)


def from_form(headers: list[str], form) -> Mapping:
    """The mapping chosen on the preview: ``col-<i>`` a template header, 不导入, or empty
    (the guess); ``word-<key>-<n>`` a file's word of a list field and ``val-<key>-<n>`` the
    allowed word chosen for it. MappingError names what is not ours."""
    data: dict = {"columns": {}, "values": {}}
    for i, header in enumerate(headers):
        chosen = form.get(f"col-{i}", "")
        if header and chosen:
            data["columns"][header] = chosen
    for key in LIST_KEYS:
        for n in range(_MAX_WORDS):
            word, value = form.get(f"word-{key}-{n}"), form.get(f"val-{key}-{n}")
            if word is None:
                break
            if value:
                data["values"].setdefault(COLUMNS[key][0], {})[word] = value
    return Mapping.from_json(data)


_MAX_WORDS = 200  # words of one list field offered for mapping at once
