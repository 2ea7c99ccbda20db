"""Signed bodies between carevisits and an integration: an HMAC-SHA256 of the time and the
body with the integration's signing secret, sent as ``X-Carevisits-Signature: t=<unix
seconds>,v1=<hex>``. The time inside the signature stops an old body being replayed."""

import hashlib
import hmac
from datetime import datetime

HEADER = "X-Carevisits-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, at: datetime) -> str:
    """The header value that signs ``body`` at ``at``."""
    stamp = int(at.timestamp())
    return f"t={stamp},v1={_digest(secret, stamp, body)}"


def verify(secret: str, header: str, body: bytes, now: datetime,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` at a time within ``tolerance``
    seconds of ``now``."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        stamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now.timestamp() - stamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), _digest(secret, stamp, body))


def _digest(secret: str, stamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(stamp).encode() + b"." + body,
                    hashlib.sha256).hexdigest()
