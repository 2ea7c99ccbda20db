"""A street's own 台账 as street offices keep it, built for the tests: a title row above the
headers, merged 社区/网格 cells, a hidden column and a hidden row, a blank row, a 合计 row,
a couple at one address, one address written two ways, single-storey houses (平房), one person
listed twice, phones and emergency contacts written every way people write them, care levels
as 特困/A/B/C, 与保姆同住, 备注 and 身份证号. 60 person rows; written as XLSX (merged cells) or
as the CSV Excel saves from it (GBK, merged cells blank below their first row)."""

import csv
import io
from dataclasses import dataclass, field

import openpyxl

TITLE = "泉城路街道独居（空巢）老人关爱台账（2026年12月）"
HEADER = ["序号", "社区", "网格", "户主/老人姓名", "性别", "身份证号", "年龄", "联系电话", "住址",
          "居住状况", "关爱等级", "紧急联系人及电话", "备注", "内部编码"]
HIDDEN_COLUMN = 13  # 内部编码: hidden in Excel, read like the others
# What the first upload must guess for every column (序号 is not imported, listed).
GUESSED = {"序号": None, "社区": "community", "网格": "grid", "户主/老人姓名": "name",
           "性别": "gender", "身份证号": "id_card", "年龄": "age", "联系电话": "phone",
           "住址": "address", "居住状况": "living", "关爱等级": "care",
           "紧急联系人及电话": "contacts", "备注": "notes", "内部编码": None}
VALUE_MAPPING = {"关爱等级": {"特困": "重点", "A": "重点", "B": "关注", "C": "一般"},
                 "居住情况": {"与保姆同住": "其他"}}
AREAS = [("甲社区", "一网格")] * 20 + [("甲社区", "二网格")] * 20 + [("乙社区", "三网格")] * 20

PHONES = [  # (as written, the phone kept, the further numbers kept)
    ("139-5140-3729", "13951403729", []),
    ("138 0000 1111/0531-8888 6666", "13800001111", ["0531-88886666"]),
    ("１３８０５３１００２１", "13805310021", []),
    ("+86 139 0000 0001", "13900000001", []),
    ("0531-86011001转123", "0531-86011001转123", []),
    ("0531-86011002、13700000002", "13700000002", ["0531-86011002"]),
    ("13600000003，13600000004", "13600000003", ["13600000004"]),
    ("0086-135-0000-0005", "13500000005", []),
]
CONTACTS = [  # (as written, [(relation, name, phone)])
    ("女儿 王芳 13912345678", [("女儿", "王芳", "13912345678")]),
    ("女儿王芳 139-1234-5679", [("女儿", "王芳", "13912345679")]),
    ("女儿：王芳，13912345670", [("女儿", "王芳", "13912345670")]),
    ("王芳（女儿）13912345671", [("女儿", "王芳", "13912345671")]),
    ("外甥女冯长林15197402358", [("外甥女", "冯长林", "15197402358")]),
    ("儿子 王强 13800001112；女儿 王芳 13900002222",
     [("儿子", "王强", "13800001112"), ("女儿", "王芳", "13900002222")]),
]
NOTES = ["轮椅", "听力差，敲门要大声", "", "糖尿病，每周三子女来", ""]
CARE = ["特困", "A", "B", "C", "重点", "一般"]
LIVING = ["独居", "与保姆同住", "空巢", "独居", "与配偶同住"]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章"
GIVEN = "桂兰秀英玉珍淑珍德明建国凤英秀兰志强玉兰长林淑英建华秀珍凤兰"


def id_number(born: str, serial: int, female: bool) -> str:
    """A 身份证号 of Jinan (370102) with its check digit."""
    order = f"{serial:02d}{(2 if female else 1) + (serial % 4) * 2}"
    body = f"370102{born}{order}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


@dataclass
class Person:
    """One person row and what the register must keep of it."""

    cells: list
    name: str
    address: str  # as the household shows it
    building: str
    phone: str = ""
    other_phones: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    notes: str = ""
    id_card: str = ""


def people() -> list[Person]:
    """The 60 person rows (the last repeats the first: the person listed twice)."""
    found = []
    for i in range(59):
        community, grid = AREAS[i]
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(2 * i) % len(GIVEN):(2 * i) % len(GIVEN) + 2]
        if i >= 38:  # names repeat after a while: a third character keeps them apart
            name += "英"
        female = i % 3 != 0
        year = 1930 + i % 20
        address, building = f"芙蓉街{i + 1}号院{i % 5 + 1}号楼{i % 3 + 1}单元{100 + i}室", str(
            i % 5 + 1)
        shown = address
        if i in (5, 6):  # a couple in one single-storey house
            address = shown = "曲水亭街东巷3号院"
            building = ""
        elif i == 7:
            address = shown = "明湖西街74号"
            building = ""
        elif i == 8:
            address, shown, building = "湖滨路60号2-2-402", "湖滨路60号2号楼2单元402室", "2"
        elif i == 9:  # the same household as row 8's, written the other way
            address, shown, building = "湖滨路60号2号楼2单元402", "湖滨路60号2号楼2单元402室", "2"
        written, phone, others = PHONES[i % len(PHONES)]
        contact_text, contacts = CONTACTS[i % len(CONTACTS)]
        ident = id_number(f"{year}0{i % 9 + 1}1{i % 9}", i % 90 + 10, female) if i % 4 else ""
        age = "" if ident else str(2026 - year)
        cells = [str(i + 1), community, grid, name, "女" if female else "男", ident, age,
                 written, address, LIVING[i % len(LIVING)], CARE[i % len(CARE)], contact_text,
                 NOTES[i % len(NOTES)], f"NB-{i:03d}"]
        found.append(Person(cells, name, shown, building, phone, others,
                            contacts, NOTES[i % len(NOTES)], ident))
    twice = Person(list(found[0].cells), found[0].name, found[0].address, found[0].building)
    twice.cells[0] = "60"
    return [*found, twice]


def layout() -> tuple[list[list], list[int], int, int]:
    """The sheet's rows from the title down, the row numbers (1-based) of the person rows,
    the blank row's and the totals row's numbers."""
    rows = [[TITLE] + [""] * (len(HEADER) - 1), HEADER]
    lines = []
    blank = None
    for n, person in enumerate(people()):
        if n == 30:
            rows.append([""] * len(HEADER))
            blank = len(rows)
        rows.append(person.cells)
        lines.append(len(rows))
    rows.append(["合计", "", "", "共60人"] + [""] * (len(HEADER) - 4))
    return rows, lines, blank, len(rows)


def merged_runs(rows: list[list], lines: list[int], column: int) -> list[tuple[int, int]]:
    """The (first, last) row numbers of each run of adjacent person rows (the repeated
    last one apart) with the same value in ``column`` (0-based): merged in the office's
    sheet."""
    runs: list[list[int]] = []
    for line in lines[:-1]:
        value = rows[line - 1][column]
        if runs and runs[-1][1] == line - 1 and rows[runs[-1][0] - 1][column] == value:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    return [(first, last) for first, last in runs if last > first]


def xlsx() -> bytes:
    """The sheet as the street office's Excel file: merged title, 社区 and 网格 cells, a
    hidden column and a hidden person row."""
    rows, lines, _blank, _totals = layout()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "台账"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            sheet.cell(r, c, value or None)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    for column in (1, 2):  # 社区 and 网格
        for first, last in merged_runs(rows, lines, column):
            sheet.merge_cells(start_row=first, start_column=column + 1, end_row=last,
                              end_column=column + 1)
    sheet.column_dimensions["N"].hidden = True
    sheet.row_dimensions[lines[3]].hidden = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def gbk_csv() -> bytes:
    """The sheet as Excel saves it to CSV (GBK): merged cells blank below their first row."""
    rows, lines, _blank, _totals = layout()
    rows = [list(row) for row in rows]
    for column in (1, 2):
        for first, last in merged_runs(rows, lines, column):
            for line in range(first + 1, last + 1):
                rows[line - 1][column] = ""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("gbk")
