"""What the delivery and dispatch tests share: a local HTTP receiver, an
integration that delivers to it, and the app factory RQ workers build.

The receiver listens on 127.0.0.1 only. Its routes:

``/ok``
    200.
``/slow``
    Answers after a second: longer than the integration's read timeout.
``/flaky/<key>``
    500 the first ``?fails=N`` times (default 1) for each key, then 200.
``/limited/<key>``
    429 with ``Retry-After: <?after=N>`` the first time for each key, then 200.
``/status/<code>``
    That status, without ``Location``.
``/to-private``
    A redirect to ``http://10.1.2.3/``, which must be refused.
``/big``
    2 MiB, beyond the client's limit.
``/block``
    Waits until :attr:`Receiver.release` is set, then 200.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from wtforms import PasswordField
from wtforms.validators import Optional

from flask_integrations import FlaskIntegrations, Integration, IntegrationConfigForm
from flask_integrations.fields import OutboundURLField
from flask_integrations.outbound import OutboundClient, OutboundResponse

#: The integration's read timeout; ``/slow`` takes longer.
READ_TIMEOUT = 0.25

#: The secret the tests store in configurations.
SECRET = "s3cr3t-token-that-must-never-leak"


class Receiver(http.server.ThreadingHTTPServer):
    """Records every request it gets."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, t.Any]] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        #: Set to let ``/block`` answer.
        self.release = threading.Event()
        #: Set when a request reaches ``/block``.
        self.blocked = threading.Event()
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.counts.clear()
        self.release.clear()
        self.blocked.clear()

    def bodies(self) -> list[dict[str, t.Any]]:
        """The JSON bodies received, in order."""
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests if r["body"]]

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        """Clients hanging up early (timeouts, size limits) are expected."""


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: t.Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self.server.lock:
            self.server.requests.append(
                {
                    "path": url.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
            )
            count = self.server.counts.get(url.path, 0) + 1
            self.server.counts[url.path] = count
        route, _, rest = url.path.strip("/").partition("/")
        getattr(self, f"route_{route.replace('-', '_')}")(rest, query, count)

    do_GET = do_POST

    def reply(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_ok(self, rest: str, query: dict[str, str], count: int) -> None:
        self.reply(200, b"thanks")

    def route_slow(self, rest: str, query: dict[str, str], count: int) -> None:
        self.server.stopping.wait(1.0)
        self.reply(200, b"late")

    def route_flaky(self, rest: str, query: dict[str, str], count: int) -> None:
        self.reply(500 if count <= int(query.get("fails", "1")) else 200)

    def route_limited(self, rest: str, query: dict[str, str], count: int) -> None:
        if count == 1:
            self.reply(429, Retry_After=query.get("after", "2"))
        else:
            self.reply(200)

    def route_status(self, rest: str, query: dict[str, str], count: int) -> None:
        self.reply(int(rest))

    def route_to_private(self, rest: str, query: dict[str, str], count: int) -> None:
        self.reply(302, Location="http://10.1.2.3/hook")

    def route_big(self, rest: str, query: dict[str, str], count: int) -> None:
        self.reply(200, b"x" * (2 * 1024 * 1024))

    def route_block(self, rest: str, query: dict[str, str], count: int) -> None:
        self.server.blocked.set()
        self.server.release.wait(5)
        self.reply(200)


def start_receiver() -> tuple[Receiver, threading.Thread]:
    receiver = Receiver()
    thread = threading.Thread(
        target=receiver.serve_forever, args=(0.05,), name="test-receiver"
    )
    thread.start()
    return receiver, thread


def stop_receiver(receiver: Receiver, thread: threading.Thread) -> None:
    receiver.stopping.set()
    receiver.release.set()
    receiver.shutdown()
    receiver.server_close()
    thread.join()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def guard_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record every connection attempt; refuse any that is not 127.0.0.1."""
    real = socket.create_connection
    attempts: list[tuple[str, int]] = []

    def guarded(address: tuple[str, int], *args: t.Any, **kwargs: t.Any) -> t.Any:
        attempts.append((address[0], address[1]))
        if address[0] != "127.0.0.1":
            raise AssertionError(f"The tests never connect to {address[0]}.")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempts


def no_dns(host: str, port: int) -> list[str]:
    """The resolver of the tests: no host name resolves."""
    return []


class HookForm(IntegrationConfigForm):
    url = OutboundURLField("Target URL")
    token = PasswordField("Token", validators=[Optional()])


class HookIntegration(Integration):
    """Posts each event as JSON to the configuration's URL."""

    integration_id = "tests.hook"
    name = "Hook"
    config_form_cls = HookForm
    events = {"ticket.created": "Ticket created", "ticket.closed": "Ticket closed"}

    def deliver(
        self, config: t.Any, event: str, payload: t.Any, delivery: t.Any
    ) -> OutboundResponse:
        client = OutboundClient(connect_timeout=2.0, read_timeout=READ_TIMEOUT)
        return client.post(
            config.get("url"),
            json={"event": event, "payload": payload},
            headers={
                "X-Delivery": delivery.delivery_id,
                "X-Token": config.get("token") or "",
            },
            follow_redirects=True,
        )


#: Delivery settings most tests use (the 'sync' dispatcher by default).
BASE_CONFIG: dict[str, t.Any] = {
    "INTEGRATIONS_DISPATCHER": "sync",
    "INTEGRATIONS_OUTBOUND_ALLOWLIST": ["127.0.0.1"],
    "INTEGRATIONS_OUTBOUND_RESOLVER": no_dns,
    "INTEGRATIONS_RETRY_SCHEDULE": (0.01, 0.02, 0.03),
    "INTEGRATIONS_PAUSE_AFTER": 100,
    "INTEGRATIONS_AUTO_DISABLE_AFTER": 100,
}


# -- the app RQ workers build -------------------------------------------------

#: Set by the RQ test: the database and config of the worker's app.
RQ_WORKER_SETTINGS: dict[str, t.Any] = {}
#: The apps :func:`create_rq_worker_app` built, so the test can dispose them.
RQ_WORKER_APPS: list[Flask] = []


def create_rq_worker_app() -> Flask:
    """The app factory named by ``INTEGRATIONS_RQ_APP`` in the RQ test, as a
    worker process would build it."""
    db = SQLAlchemy()
    integrations = FlaskIntegrations(db=db, admin_required=lambda: True)
    integrations.register(HookIntegration)
    app = Flask("rq_worker_app")
    app.config.update(BASE_CONFIG)
    app.config.update(RQ_WORKER_SETTINGS)
    db.init_app(app)
    integrations.init_app(app)
    RQ_WORKER_APPS.append(app)
    return app


# Fixtures shared by the delivery test modules (import them by name).


@pytest.fixture(scope="module")
def receiver() -> t.Iterator[Receiver]:
    """A local receiver for the whole module, emptied before each test."""
    server, thread = start_receiver()
    yield server
    stop_receiver(server, thread)


@pytest.fixture(autouse=True)
def connections(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> list[tuple[str, int]]:
    """Every outbound connection the test makes (the receiver starts empty)."""
    receiver.reset()
    return guard_connections(monkeypatch)
