"""What URLs carry, bounded before it reaches the database: the record ids of every
``<int:…>`` path, the text of every other path segment, and the page number of every list.

An id beyond the id columns' range matches no route, so it is simply "not found" (a bigger
number than the database can hold would otherwise fail inside the driver); so is a segment
with a control character (PostgreSQL refuses a NUL in any text it is asked to compare).
A page number that is not a whole number is the first page; one past the end, however far,
is the last page: a bookmark of a list that has since shrunk still shows something."""

from flask import Flask, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from carevisits.extensions import db

# Ids are INTEGER columns on PostgreSQL (SQLite's hold up to 2**63 - 1).
ID_MAX = 2**31 - 1
# Beyond any list this app shows (50 a page: 50 million rows); the offset stays far inside
# a 64-bit integer.
PAGE_MAX = 1_000_000


class IdConverter(IntegerConverter):
    """``<int:…>`` for the whole app: a whole number from 0 to ID_MAX, else no match."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = ID_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class TextConverter(BaseConverter):
    """``<name>`` and ``<string:…>`` for the whole app: a path segment without control
    characters (door tokens, household numbers, language codes), else no match."""

    regex = "[^/\\x00-\\x1f\\x7f]+"


def record_id(value) -> int:
    """A record id sent in a form or query (``coerce=``/``type=``): a whole number from 0 to
    ID_MAX; ValueError for anything else, which the field or argument treats as bad."""
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(ID_MAX))):
        raise ValueError(text[:20])
    number = int(text)
    if number > ID_MAX:
        raise ValueError(text)
    return number


def register_converters(app: Flask) -> None:
    """Bound every ``<int:…>`` and ``<string:…>`` of the app; before the blueprints, whose
    rules use them."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["string"] = app.url_map.converters["default"] = TextConverter


def page_number() -> int:
    """The ``page`` query argument: 1 unless it is a whole number above 1; at most PAGE_MAX."""
    text = request.args.get("page", "")
    if not (text.isascii() and text.isdigit()):
        return 1
    digits = text.lstrip("0") or "0"
    return max(1, min(int(digits), PAGE_MAX) if len(digits) <= len(str(PAGE_MAX)) else PAGE_MAX)


def paginate(query: Select, per_page: int) -> Pagination:
    """The page of ``query`` the request asks for; past the last page, the last page.

    Every list pages through here: the page number is read once, bounded, and never taken
    from the request a second time."""
    number = page_number()
    page = db.paginate(query, page=number, per_page=per_page, error_out=False)
    if number > 1 and number > page.pages:
        page = db.paginate(query, page=max(page.pages, 1), per_page=per_page, error_out=False)
    return page
