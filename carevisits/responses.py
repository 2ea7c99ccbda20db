"""Responses shared by blueprints: spreadsheets to download."""

from flask import Response

from carevisits.services import exports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def spreadsheet(header: list[str], rows: list[list], *, title: str, filename: str) -> Response:
    """Rows as a CSV (UTF-8 with BOM) or XLSX download, by the file name's extension."""
    if filename.endswith(".csv"):
        body, mimetype = exports.to_csv(header, rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = exports.to_xlsx(header, rows, title), XLSX
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})
