"""The integration API's blueprint and the one decorator its operations are declared with.

``operation`` registers the route and notes what it needs (permission, query, body, answers)
in ``OPERATIONS``, from which the OpenAPI document is written: a route cannot be served
without being described. It authenticates the bearer key (a browser's session or cookie is
never read: carevisits/observability.py gives these paths no session), checks the permission,
parses the query or body with their pydantic models, calls the view, and turns its answer or
refusal into JSON or problem details. After each request of a key, the request is audited
and the key's last use noted, in the request's one commit."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, Response, current_app, g, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError

from carevisits.extensions import csrf, db, limiter
from carevisits.models import ApiKey, ApiPermission
from carevisits.models.base import utcnow
from carevisits.problems import problem
from carevisits.services import apikeys, signatures

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# A signal or a work order is a few hundred bytes: a larger body is refused (413) unread.
BODY_LIMIT = 64 * 1024
csrf.exempt(bp)


@dataclass
class Operation:
    """One API operation as the OpenAPI document describes it."""

    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    permission: ApiPermission | None
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    answers: dict[int, type[BaseModel]]
    public: bool = False
    signed: bool = False
    not_found: bool = False
    extra: dict = field(default_factory=dict)


OPERATIONS: list[Operation] = []


class ApiProblem(Exception):
    """A refusal a view raises: answered as problem details."""

    def __init__(self, status: int, detail=None, errors: list[dict] | None = None):
        super().__init__(status)
        self.status, self.detail, self.errors = status, detail, errors


# Messages of pydantic's error types, in the request's language.
FIELD_MESSAGES = {
    "missing": _l("Required."),
    "int_parsing": _l("Enter a whole number."),
    "int_type": _l("Enter a whole number."),
    "int_from_float": _l("Enter a whole number."),
    "float_parsing": _l("Enter a number."),
    "float_type": _l("Enter a number."),
    "finite_number": _l("Enter a finite number."),
    "string_type": _l("Enter text."),
    "enum": _l("Not one of the allowed values."),
    "datetime_parsing": _l("Enter a date and time in ISO 8601 with its offset, e.g. "
                           "2026-05-01T08:00:00+08:00."),
    "datetime_type": _l("Enter a date and time in ISO 8601 with its offset, e.g. "
                        "2026-05-01T08:00:00+08:00."),
    "datetime_from_date_parsing": _l("Enter a date and time in ISO 8601 with its offset, e.g. "
                                     "2026-05-01T08:00:00+08:00."),
    "timezone_aware": _l("Give the time with its offset, e.g. +08:00."),
    "model_type": _l("Send a JSON object."),
    "model_attributes_type": _l("Send a JSON object."),
    "control_characters": _l("Remove the control characters."),
    "out_of_range": _l("This time is out of range."),
    "cursor": _l("Not a cursor of this list: send the next_cursor of the page before."),
}


def field_errors(error: ValidationError) -> list[dict]:
    """Every field's problem at once, in the request's language."""
    found = []
    for item in error.errors(include_url=False):
        name = ".".join(str(part) for part in item["loc"]) or "body"
        found.append({"field": name, "message": _message(item)})
    return found


def _message(item: dict):
    kind, ctx = item["type"], item.get("ctx") or {}
    if kind in ("string_too_short", "too_short"):
        return _l("Must not be empty.") if ctx.get("min_length") == 1 else _l(
            "At least %(min)d characters.", min=ctx.get("min_length", 0))
    if kind in ("string_too_long", "too_long"):
        return _l("At most %(max)d characters.", max=ctx.get("max_length", 0))
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _l("Out of the allowed range.")
    return FIELD_MESSAGES.get(kind, _l("Not a valid value."))


def bearer_key() -> str | None:
    """The key of ``Authorization: Bearer <key>``, if the header has that form."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" and raw.strip() else None


def _rate_key() -> str:
    """What the API's rate limit counts by: the key presented (as a hash), else the address."""
    raw = bearer_key()
    if raw is None:
        return f"api-anonymous/{request.remote_addr}"
    return "api/" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_rate_key)(bp)


def operation(rule: str, *, summary: str, permission: ApiPermission | None = None,
              method: str = "GET", query: type[BaseModel] | None = None,
              body: type[BaseModel] | None = None, answers: dict[int, type[BaseModel]],
              public: bool = False, signed: bool = False, not_found: bool = False) -> Callable:
    """Declare and register an operation; the view is called as ``view(key, query=…,
    body=…, **path)`` and returns ``(answer model, status)`` (or a Response, when public)."""
    def decorate(view: Callable) -> Callable:
        op = Operation(rule, method, view.__name__, summary, (view.__doc__ or "").strip(),
                       permission, query, body, answers, public, signed, not_found)
        OPERATIONS.append(op)

        @wraps(view)
        def wrapped(**path):
            if public:
                return view(**path)
            if body is not None:
                request.max_content_length = BODY_LIMIT
            try:
                return _answer(op, view(_admit(op), **_inputs(op), **path))
            except ApiProblem as refused:
                return problem(refused.status, refused.detail, errors=refused.errors,
                               headers=_challenge(refused.status))

        bp.add_url_rule(rule, view.__name__, wrapped, methods=[method])
        return wrapped
    return decorate


def _admit(op: Operation) -> ApiKey:
    """The request's live key with the operation's permission (and a valid signature where
    the key must sign), else the refusal."""
    key = apikeys.authenticate(bearer_key())
    if key is None:
        raise ApiProblem(401)
    g.api_key, g.api_operation = key, op.endpoint
    if op.permission is not None and op.permission.value not in (key.permissions or []):
        raise ApiProblem(403)
    if op.signed and key.signature_required and not signatures.verify(
            key.signing_secret, request.headers.get(signatures.HEADER, ""),
            request.get_data(), utcnow()):
        raise ApiProblem(401, _l("This API key must sign its bodies: send a valid, current "
                                 "X-Carevisits-Signature header."))
    return key


def _inputs(op: Operation) -> dict:
    """The parsed query and body (every field's problem at once)."""
    inputs, errors = {}, []
    for name, model, data in (("query", op.query, lambda: request.args.to_dict()),
                              ("body", op.body, lambda: request.get_json(silent=True))):
        if model is None:
            continue
        payload = data()
        if not isinstance(payload, dict):
            errors.append({"field": "body", "message": FIELD_MESSAGES["model_type"]})
            continue
        try:
            inputs[name] = model.model_validate(payload)
        except ValidationError as err:
            errors.extend(field_errors(err))
    if errors:
        raise ApiProblem(422, errors=errors)
    return inputs


def _answer(op: Operation, result) -> Response:
    """The view's (model, status) as JSON; the answer must be the one declared."""
    answer, status = result
    if not isinstance(answer, op.answers[status]):
        raise TypeError(f"{op.endpoint} answered {type(answer).__name__} with {status}")
    return Response(answer.model_dump_json(), status=status, mimetype="application/json")


def _challenge(status: int) -> dict | None:
    return {"WWW-Authenticate": 'Bearer realm="carevisits"'} if status == 401 else None


@bp.after_request
def _audit(response: Response) -> Response:
    """One audit event per request of a key (its operation and status), the key's last use
    noted; a refused request's changes are dropped first. The request's one commit."""
    key = g.pop("api_key", None)
    if key is None:
        return response
    if response.status_code >= 400:
        db.session.rollback()
    apikeys.record_use(key, g.pop("api_operation", ""), response.status_code)
    db.session.commit()
    return response
