"""The register's readers of values as people write them (services/register_fields): phones
in every form a street's sheet has them, emergency contacts in one cell, 身份证号, and an
address in one cell with or without building, unit and room. Pure functions: no app, no
database."""

from datetime import date

import pytest

from carevisits.models.household import format_address
from carevisits.services import register_fields as fields

PHONE_CELLS = {
    "13951403729": ["13951403729"],
    "139-5140-3729": ["13951403729"],
    "139 5140 3729": ["13951403729"],
    "139.5140.3729": ["13951403729"],
    "(139)5140-3729": ["13951403729"],
    "１３９５１４０３７２９": ["13951403729"],
    "１３９－５１４０－３７２９": ["13951403729"],
    "+86 139 5140 3729": ["13951403729"],
    "+8613951403729": ["13951403729"],
    "0086-13951403729": ["13951403729"],
    "0531-88886666": ["0531-88886666"],
    "053188886666": ["0531-88886666"],
    "0531 8888 6666": ["0531-88886666"],
    "0531-8888 6666": ["0531-88886666"],
    "(0531)88886666": ["0531-88886666"],
    "（0531）8888-6666": ["0531-88886666"],
    "010-6512 3456": ["010-65123456"],
    "+86 531 8888 6666": ["0531-88886666"],
    "88886666": ["88886666"],
    "8601100": ["8601100"],
    "0531-88886666转123": ["0531-88886666转123"],
    "0531-88886666 转 123": ["0531-88886666转123"],
    "0531-88886666分机123": ["0531-88886666转123"],
    "0531-88886666-123": ["0531-88886666转123"],
    "138 0000 1111/0531-8888 6666": ["13800001111", "0531-88886666"],
    "138 0000 1111 0531 8888 6666": ["13800001111", "0531-88886666"],
    "13800001111 13900002222": ["13800001111", "13900002222"],
    "13800001111，13900002222": ["13800001111", "13900002222"],
    "13800001111,13900002222": ["13800001111", "13900002222"],
    "13800001111;13900002222": ["13800001111", "13900002222"],
    "13800001111；13900002222": ["13800001111", "13900002222"],
    "13800001111、88886666": ["13800001111", "88886666"],
    "13800001111或88886666": ["13800001111", "88886666"],
    "13800001111/13900002222/0531-88886666": ["13800001111", "13900002222",
                                             "0531-88886666"],
    "0531-88886666 13800001111": ["0531-88886666", "13800001111"],
    "手机：13800001111": ["13800001111"],
    "13800001111/13800001111": ["13800001111"],
}


@pytest.mark.parametrize(("cell", "numbers"), PHONE_CELLS.items())
def test_every_number_of_a_phone_cell_is_read(cell, numbers):
    assert fields.phones(cell) == (numbers, [])


def test_numbers_as_kept_read_back_as_themselves():
    """An export writes the further numbers joined by 、: importing it changes nothing."""
    kept = [n for numbers in PHONE_CELLS.values() for n in numbers]
    assert fields.phones("、".join(kept)) == (list(dict.fromkeys(kept)), [])
    assert all(fields.phone(n) == n for n in kept)


@pytest.mark.parametrize(("cell", "numbers", "unread"), [
    ("无", [], ["无"]),
    ("13800001111 儿子", ["13800001111"], ["儿子"]),
    ("手机：13800001111 儿子家", ["13800001111"], ["儿子家"]),
    ("家里 88886666，手机 13800001111", ["88886666", "13800001111"], ["家里"]),
    ("1380000111", [], ["1380000111"]),
    ("13800001111/12345", ["13800001111"], ["12345"]),
    ("13800001111 转 12", ["13800001111"], ["转 12"]),
    ("", [], []),
])
def test_what_is_no_number_is_handed_back_to_be_reported(cell, numbers, unread):
    assert fields.phones(cell) == (numbers, unread)


def test_one_phone_as_a_form_takes_it():
    assert fields.phone("139-5140-3729") == "13951403729"
    assert fields.phone(" 0531 8601 1001 ") == "0531-86011001"
    assert fields.phone("  ") == ""
    for text, message in (("12345", "Neither a mobile number nor a landline"),
                          ("13800001111 张", "Neither a mobile number nor a landline"),
                          ("13800001111/13900002222", "Enter one number here")):
        with pytest.raises(fields.FieldError, match=message):
            fields.phone(text)


@pytest.mark.parametrize(("numbers", "main"), [
    (["13800001111", "0531-88886666"], ("13800001111", ["0531-88886666"])),
    (["0531-88886666", "13800001111", "13900002222"],
     ("13800001111", ["0531-88886666", "13900002222"])),
    (["88886666", "0531-88887777"], ("88886666", ["0531-88887777"])),
    (["13800001111"], ("13800001111", [])),
    ([], ("", [])),
])
def test_the_first_mobile_is_the_phone_and_the_others_follow_in_order(numbers, main):
    assert fields.main_phone(numbers) == main


WANG_FANG = {"relation": "女儿", "name": "王芳", "phone": "13912345678"}
WANG_QIANG = {"relation": "儿子", "name": "王强", "phone": "13800001111"}


@pytest.mark.parametrize(("cell", "found"), [
    ("女儿 王芳 13912345678", [WANG_FANG]),
    ("女儿王芳 139-1234-5678", [WANG_FANG]),
    ("女儿：王芳，13912345678", [WANG_FANG]),
    ("女儿:王芳,13912345678", [WANG_FANG]),
    ("王芳（女儿）13912345678", [WANG_FANG]),
    ("王芳(女儿) 139 1234 5678", [WANG_FANG]),
    ("王芳 女儿 13912345678", [WANG_FANG]),
    ("王芳女儿13912345678", [WANG_FANG]),
    ("王芳-女儿-139-1234-5678", [WANG_FANG]),
    ("张姐姐 13912345678", [{"relation": "", "name": "张姐姐", "phone": "13912345678"}]),
    ("王芳 13912345678（女儿）", [WANG_FANG]),
    ("13912345678 女儿王芳", [WANG_FANG]),
    ("女儿，王芳，13912345678", [WANG_FANG]),
    ("外甥女冯长林15197402358",
     [{"relation": "外甥女", "name": "冯长林", "phone": "15197402358"}]),
    ("外甥冯长林15197402358",
     [{"relation": "外甥", "name": "冯长林", "phone": "15197402358"}]),
    ("女儿 王芳 13912345678；儿子 王强 13800001111", [WANG_FANG, WANG_QIANG]),
    ("女儿 王芳 13912345678，儿子 王强 13800001111", [WANG_FANG, WANG_QIANG]),
    ("女儿王芳13912345678 儿子王强13800001111", [WANG_FANG, WANG_QIANG]),
    ("女儿 王芳 13912345678\n儿子 王强 138-0000-1111", [WANG_FANG, WANG_QIANG]),
    ("女儿 王芳 13912345678/0531-88886666",
     [WANG_FANG, {**WANG_FANG, "phone": "0531-88886666"}]),
    ("孙女士 13912345678", [{"relation": "", "name": "孙女士", "phone": "13912345678"}]),
    ("邻居张大爷 0531-88886666转12",
     [{"relation": "邻居", "name": "张大爷", "phone": "0531-88886666转12"}]),
    ("女儿 13912345678", [{**WANG_FANG, "name": ""}]),
])
def test_a_contact_cell_is_split_into_relation_name_and_phone(cell, found):
    assert fields.contacts(cell) == (found, [])


def test_a_contact_without_a_phone_or_a_phone_without_a_name_is_kept_with_a_warning():
    found, warnings = fields.contacts("王芳")
    assert found == [{"relation": "", "name": "王芳", "phone": ""}]
    assert [str(w) for w in warnings] == ["Contact 王芳 has no phone number"]
    found, warnings = fields.contacts("13912345678")
    assert found == [{"relation": "", "name": "", "phone": "13912345678"}]
    assert [str(w) for w in warnings] == ["The number 13912345678 has no name"]
    found, warnings = fields.contacts("女儿 王芳 139123；儿子王强")
    assert found == [{**WANG_FANG, "phone": ""}, {**WANG_QIANG, "phone": ""}]
    assert [str(w) for w in warnings] == [
        "Could not read 139123 as a phone number", "Contact 王芳 has no phone number",
        "Contact 王强 has no phone number"]
    assert fields.contacts("  ") == ([], [])


def test_the_longest_relation_is_tried_first():
    assert fields.RELATIONS.index("外甥女") < fields.RELATIONS.index("外甥")
    assert fields.RELATIONS.index("大女儿") < fields.RELATIONS.index("女儿")
    assert fields.contacts("大女儿王芳 13912345678")[0][0]["relation"] == "大女儿"


# The examples of GB 11643-1999 and a woman born 1942, all with their check digit.
@pytest.mark.parametrize(("number", "birth", "gender"), [
    ("11010519491231002X", date(1949, 12, 31), "女"),
    ("11010519491231002x", date(1949, 12, 31), "女"),
    ("440524188001010014", date(1880, 1, 1), "男"),
    ("４４０５２４１８８００１０１００１４", date(1880, 1, 1), "男"),
    (" 110105 19491231 002X ", date(1949, 12, 31), "女"),
    ("110105491231002", date(1949, 12, 31), "女"),  # 15 digits: before 1999, no check digit
    ("110105491231001", date(1949, 12, 31), "男"),
])
def test_an_id_number_gives_birth_date_and_gender(number, birth, gender):
    assert fields.id_card(number) == (birth, gender)


@pytest.mark.parametrize(("number", "message"), [
    ("110105194912310021", "check digit"),  # the last digit mistyped
    ("11010519491231020X", "check digit"),  # two neighbouring digits swapped
    ("11010519491231002", "18 digits"),
    ("1101051949123100XX", "18 digits"),
    ("王芳", "18 digits"),
    ("110105491331002", "birth date"),  # month 13
    ("110105194902300020", "birth date"),  # 30 February, check digit right
])
def test_a_wrong_id_number_is_refused_with_a_reason(number, message):
    with pytest.raises(fields.FieldError, match=message):
        fields.id_card(number)


@pytest.mark.parametrize(("text", "parts"), [
    ("芙蓉街37号院2号楼3单元302室", ("芙蓉街37号院", "2", "3", "302")),
    ("芙蓉街37号院2-3-302", ("芙蓉街37号院", "2", "3", "302")),
    ("芙蓉街37号院 2 号楼 3 单元 302 室", ("芙蓉街37号院", "2", "3", "302")),
    ("湖滨路60号2-2-402", ("湖滨路60号", "2", "2", "402")),
    ("湖滨路60号2号楼2单元402室", ("湖滨路60号", "2", "2", "402")),
    ("湖滨路60号2号楼2单元402", ("湖滨路60号", "2", "2", "402")),
    ("湖滨路60号2栋2单元402室", ("湖滨路60号", "2", "2", "402")),
    ("湖滨路60号２－２－４０２", ("湖滨路60号", "2", "2", "402")),
    ("湖滨路60号2—2—402", ("湖滨路60号", "2", "2", "402")),
    ("泉城路12号5号楼302室", ("泉城路12号", "5", "", "302")),
    ("泉城路12号5-302", ("泉城路12号", "5", "", "302")),
    ("泉城路12号1单元301", ("泉城路12号", "", "1", "301")),
    ("泉城路12号302室", ("泉城路12号", "", "", "302")),
    ("芙蓉街37号院2号楼", ("芙蓉街37号院", "2", "", "")),
    ("明湖西街74号", ("明湖西街74号", "", "", "")),
    ("曲水亭街东巷3号院", ("曲水亭街东巷3号院", "", "", "")),
    ("王府池子街", ("王府池子街", "", "", "")),
])
def test_an_address_in_one_cell_is_split_into_what_it_gives(text, parts):
    assert fields.split_address(text) == parts


def test_one_address_written_two_ways_is_one_household_address():
    ways = ("湖滨路60号2-2-402", "湖滨路60号2号楼2单元402室", "湖滨路60号2号楼2单元402",
            "湖滨路60号 2号楼 2单元 402号")
    assert len({fields.split_address(w) for w in ways}) == 1


@pytest.mark.parametrize(("parts", "written"), [
    (("芙蓉街37号院", "2", "3", "302"), "芙蓉街37号院2号楼3单元302室"),
    (("芙蓉街37号院", "2", "", "302"), "芙蓉街37号院2号楼302室"),
    (("明湖西街74号", "", "", ""), "明湖西街74号"),
    (("曲水亭街东巷3号院", "", "", ""), "曲水亭街东巷3号院"),
    (("泉城路12号", "5", "", ""), "泉城路12号5号楼"),
    (("泉城路12号", "", "1", "301"), "泉城路12号1单元301室"),
    (("泉城路12号", "", "", "302"), "泉城路12号302室"),
])
def test_an_address_is_written_with_the_parts_it_has_and_no_others(parts, written):
    assert format_address(*parts) == written
    assert fields.split_address(written) == parts
