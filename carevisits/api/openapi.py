"""The OpenAPI 3.1 document of the integration API, written from the operations as declared
(carevisits/api/blueprint.py ``OPERATIONS``) and their pydantic models: what is served is what
is described."""

import re

from pydantic.json_schema import models_json_schema

from carevisits.api.blueprint import OPERATIONS, Operation
from carevisits.api.schemas import Problem
from carevisits.paging import ID_MAX

REF = "#/components/schemas/{model}"
PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
ERRORS = {
    401: "No key, an unknown or revoked key, or a missing signature.",
    403: "The key lacks the permission of this operation.",
    404: "No such record, or outside the key's area.",
    413: "The body is larger than the API takes (64 KiB).",
    422: "Invalid query or body: every field's problem in errors.",
    429: "Too many requests with this key.",
}


def document(prefix: str) -> dict:
    """The whole document; ``prefix`` is where the blueprint is mounted (/api/v1)."""
    models = {Problem}
    for op in OPERATIONS:
        models.update(op.answers.values())
        models.update(m for m in (op.body,) if m is not None)
    bodies = {op.body for op in OPERATIONS if op.body is not None}
    _, schemas = models_json_schema(
        [(m, "validation" if m in bodies else "serialization")
         for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF)
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(prefix + PATH_PARAM.sub(r"{\2}", op.rule), {})[op.method.lower()] = (
            _operation(op))
    return {
        "openapi": "3.1.0",
        "info": {"title": "carevisits integration API", "version": "1",
                 "description": "Reads and writes of an integration (a device gateway, the "
                                "12345 platform) within its API key's area. Errors are RFC "
                                "9457 problem details, in Chinese or English by "
                                "Accept-Language."},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "An API key made by an admin "
                                                          "(cvk_…)."}},
        },
    }


def _operation(op: Operation) -> dict:
    described = {"operationId": op.endpoint, "summary": op.summary,
                 "description": op.description, "responses": {}}
    parameters = [_path_parameter(name) for _, name in PATH_PARAM.findall(op.rule)]
    if op.query is not None:
        parameters += _query_parameters(op.query)
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=op.body.__name__)}}}}
    for status, model in sorted(op.answers.items()):
        described["responses"][str(status)] = {
            "description": (model.__doc__ or "").strip().splitlines()[0],
            "content": {"application/json": {"schema": {"$ref": REF.format(
                model=model.__name__)}}}}
    if op.public:
        described["security"] = []
        return described
    described["security"] = [{"apiKey": []}]
    refusals = [401, 429] + [403] * (op.permission is not None) + [404] * op.not_found
    refusals += [422] * (op.query is not None or op.body is not None) + [413] * (
        op.body is not None)
    for status in sorted(refusals):
        described["responses"][str(status)] = {
            "description": ERRORS[status], "content": {"application/problem+json": {
                "schema": {"$ref": REF.format(model="Problem")}}}}
    return described


def _path_parameter(name: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": ID_MAX}}


def _query_parameters(model) -> list[dict]:
    """One query parameter per field of the query model (nullable fields: optional)."""
    schema = model.model_json_schema(ref_template=REF)
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        options = [p for p in prop.pop("anyOf", []) if p.get("type") != "null"]
        if options:
            prop.update(options[0])
        if prop.get("default") is None:
            prop.pop("default", None)
        prop.pop("title", None)
        description = prop.pop("description", "")
        parameters.append({"name": name, "in": "query", "required": name in schema.get(
            "required", []), "description": description, "schema": prop})
    return parameters
