"""A real HTTP server for browser tests: a Flask app served by werkzeug in a daemon thread."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from carevisits.extensions import db


class _QuietHandler(WSGIRequestHandler):
    """Keeps the access log out of test output; errors are still logged."""

    def log_request(self, code="-", size="-"):
        pass


class _InFlight:
    """The app, counting the requests it is answering, so that the server's end can wait
    for them (a page's last fetches, a service worker's refresh) before the database goes."""

    def __init__(self, app: Flask):
        self.app = app
        self.busy = 0
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        with self.changed:
            self.busy += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self.changed:
                self.busy -= 1
                self.changed.notify_all()

    def wait_until_idle(self, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.busy == 0, timeout=timeout)


@contextmanager
def serve(app: Flask, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on a free port of ``host``; yields the base URL, e.g. ``http://127.0.0.1:41234``.

    On exit the server stops, its socket closes, the thread ends, the requests it was
    answering finish and the app's database engine is disposed, so nothing is left open for
    ``filterwarnings = error`` to catch.
    """
    # Port 0: the OS picks a free port when the socket binds, so there is no race for one.
    in_flight = _InFlight(app)
    server = make_server(host, 0, in_flight, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        in_flight.wait_until_idle(timeout=30)  # requests already being answered finish
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
