"""Helpers of the integration tests: API keys and devices made directly (the keys' own
service and HTTP API are the API's tests), and a local webhook receiver."""

import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from carevisits.extensions import db
from carevisits.models import ApiKey, ApiPermission, Device, DeviceKind, Household

EVERY_PERMISSION = [p.value for p in ApiPermission]


def api_key(name: str, *, street=None, community=None, permissions=None,
            webhook_url: str = "") -> ApiKey:
    """A live key (hashed as the API keeps them), all permissions unless told."""
    raw = secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=raw[:12], secret_hash=hashlib.sha256(raw.encode()).hexdigest(),
                 street=street, community=community, signing_secret=secrets.token_hex(32),
                 permissions=EVERY_PERMISSION if permissions is None else list(permissions),
                 webhook_url=webhook_url)
    db.session.add(key)
    db.session.flush()
    return key


def device(household: Household, code: str, kind: DeviceKind = DeviceKind.WATER_METER) -> Device:
    """A device registered to the household."""
    made = Device(code=code, household=household, kind=kind)
    db.session.add(made)
    db.session.flush()
    return made


class Receiver:
    """A local HTTP server that keeps every POST (path, headers, body) and answers each with
    the next status of ``statuses`` (then 200)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.posts: list[tuple[str, dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/carevisits/events"
        self.thread = threading.Thread(target=self.server.serve_forever, name="test-receiver",
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def events(self) -> list[dict]:
        """The JSON bodies received, in order."""
        return [json.loads(body) for _path, _headers, body in self.posts]
