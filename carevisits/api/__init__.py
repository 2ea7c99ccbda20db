"""The integration API under /api/v1: API keys (Authorization: Bearer), never sessions or
cookies; answers in JSON, refusals as RFC 9457 problem details; its OpenAPI 3.1 document
written from the routes themselves."""

from flask import jsonify

from carevisits.api import reads, writes
from carevisits.api.blueprint import bp, operation
from carevisits.api.openapi import document
from carevisits.api.schemas import Document

__all__ = ["bp", "reads", "writes"]


@operation("/openapi.json", summary="This document", answers={200: Document}, public=True)
def openapi():
    """The OpenAPI 3.1 document of this API, public: it describes the operations and holds no
    data, and an integrator reads it before they have a key."""
    return jsonify(document(bp.url_prefix))
