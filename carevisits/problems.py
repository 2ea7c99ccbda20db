"""RFC 9457 problem details: how the integration API (everything under ``/api/``) answers an
error, in the language of the request's ``Accept-Language`` — for its own refusals and for the
app's (no route, wrong method, too many requests, a failure on our side)."""

from flask import Response, json, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

API_PREFIX = "/api/"
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://carevisits.invalid/problems/"

TITLES = {
    400: _l("Bad request"),
    401: _l("Not authenticated"),
    403: _l("Not permitted"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    413: _l("Request too large"),
    422: _l("Invalid request"),
    429: _l("Too many requests"),
    500: _l("Server error"),
}
DETAILS = {
    400: _l("The request could not be read."),
    401: _l("Send a valid, unrevoked API key as “Authorization: Bearer <key>”."),
    403: _l("This API key does not have the permission this operation needs."),
    404: _l("No such record, or it is outside this API key's area."),
    405: _l("This address does not accept that method."),
    413: _l("The request body is too large."),
    422: _l("Some fields are not valid: see errors."),
    429: _l("Too many requests with this API key. Wait a minute and try again."),
    500: _l("Something went wrong on our side. Nothing was saved; try again."),
}
SLUGS = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
         405: "method-not-allowed", 413: "too-large", 422: "validation", 429: "rate-limited",
         500: "server-error"}


def is_api_request() -> bool:
    """Whether the current request is one of the integration API's (by its path, so that
    unknown routes and wrong methods under it answer as problems too)."""
    return request.path.startswith(API_PREFIX)


def problem(status: int, detail=None, *, errors: list[dict] | None = None,
            headers: dict | None = None) -> Response:
    """A problem details response (title and detail in the request's language)."""
    body = {"type": TYPE_BASE + SLUGS.get(status, "error"),
            "title": str(TITLES.get(status, TITLES[400 if status < 500 else 500])),
            "status": status,
            "detail": str(detail if detail is not None else DETAILS.get(status, ""))}
    if errors is not None:
        body["errors"] = [{"field": e["field"], "message": str(e["message"])} for e in errors]
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype=MEDIA_TYPE, headers=headers)
    response.headers["Content-Language"] = "en" if str(get_locale()) == "en" else "zh-CN"
    return response
