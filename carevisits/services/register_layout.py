"""What openpyxl's streaming reader does not tell about a worksheet: merged cells, hidden rows
and hidden columns. Read from the sheet's XML in one streamed pass (defusedxml: a file from
outside), before its cells are read."""

import io
import posixpath
import zipfile
from dataclasses import dataclass, field

from defusedxml.ElementTree import fromstring, iterparse
from openpyxl.utils.cell import range_boundaries

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MAX_MERGES = 100_000  # far more than any register; a file with more is not one


@dataclass
class Layout:
    """The first worksheet's merged ranges (min col, min row, max col, max row; 1-based) and
    its hidden rows and columns (rows 1-based, columns 0-based as cells are listed)."""

    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)


def sheet_layout(data: bytes) -> Layout:
    """The layout of an XLSX file's first worksheet; ValueError/KeyError if malformed."""
    layout = Layout()
    with zipfile.ZipFile(io.BytesIO(data)) as archive, \
            archive.open(_first_sheet(archive)) as xml:
        for _event, element in iterparse(xml, events=("end",)):
            tag = element.tag
            if tag == f"{MAIN}row":
                if element.get("hidden") in ("1", "true"):
                    layout.hidden_rows.add(int(element.get("r", "0")))
                element.clear()
            elif tag == f"{MAIN}col" and element.get("hidden") in ("1", "true"):
                first, last = int(element.get("min", "1")), int(element.get("max", "1"))
                layout.hidden_columns.update(range(first - 1, min(last, 16384)))
            elif tag == f"{MAIN}mergeCell" and len(layout.merges) < MAX_MERGES:
                layout.merges.append(range_boundaries(element.get("ref", "")))
    return layout


def _first_sheet(archive: zipfile.ZipFile) -> str:
    """The path in the archive of the workbook's first worksheet."""
    workbook = fromstring(archive.read("xl/workbook.xml"))
    first = workbook.find(f"{MAIN}sheets/{MAIN}sheet")
    rid = first.get(f"{REL}id")
    rels = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels.iter(f"{PACKAGE_REL}Relationship")
                  if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
        posixpath.join("xl", target))


class Merges:
    """Fills merged cells row by row as a person reads them: every cell of a merged range
    shows its top-left cell's value (openpyxl gives that value to the top-left cell only)."""

    def __init__(self, merges: list[tuple[int, int, int, int]]):
        self.starting: dict[int, list[tuple[int, int, int, int]]] = {}
        for merge in merges:
            self.starting.setdefault(merge[1], []).append(merge)
        self.open: list[tuple[tuple[int, int, int, int], str]] = []  # (range, value)

    def fill(self, line: int, cells: list[str]) -> list[str]:
        """The row's cells with the merged ones filled in."""
        for merge in self.starting.pop(line, []):
            first = merge[0] - 1
            self.open.append((merge, cells[first] if first < len(cells) else ""))
        self.open = [(m, v) for m, v in self.open if m[3] >= line]
        for (min_col, _min_row, max_col, _max_row), value in self.open:
            if not value:
                continue
            if len(cells) < max_col:
                cells = cells + [""] * (max_col - len(cells))
            for i in range(min_col - 1, max_col):
                cells[i] = cells[i] or value
        return cells
