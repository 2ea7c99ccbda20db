"""Responses shared by blueprints: files to download, under the name the user will see."""

from urllib.parse import quote

from flask import Response, request
from flask_babel import lazy_gettext as _l

from carevisits.services import exports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def download(body: bytes, filename: str, *, mimetype: str | None = None) -> Response:
    """A file download; the name may be Chinese (RFC 6266 ``filename*``, with an ASCII
    fallback for old browsers). Kept out of every cache: downloads hold personal data."""
    if mimetype is None:
        mimetype = CSV if filename.endswith(".csv") else XLSX
    # Names are made from area and people's names: keep out what no file system accepts.
    filename = "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in filename)
    fallback = "".join(c if c.isascii() and c.isalnum() or c in ".-_" else "_"
                       for c in filename)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition,
                                                      "Cache-Control": "no-store"})


def spreadsheet(header: list[str], rows: list[list], *, title: str, filename: str) -> Response:
    """Rows as a CSV (UTF-8 with BOM) or XLSX download, by the file name's extension."""
    if filename.endswith(".csv"):
        return download(exports.to_csv(header, rows), filename)
    return download(exports.to_xlsx(header, rows, title), filename)


def wants_json() -> bool:
    """A script's background request (``Accept: application/json``), not a page."""
    accept = request.accept_mimetypes
    return accept.best == "application/json" or (
        accept["application/json"] > accept["text/html"])


# What a background send is told when its session has ended: the phone keeps the visit.
SIGN_IN_AGAIN = _l("Your session has ended. Sign in again: the visits kept on this phone are "
                   "sent afterwards.")
