"""A local HTTP server that records the requests integrations send it."""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
import typing as t
from urllib.parse import parse_qs, urlsplit

from werkzeug.datastructures import Headers

from ..signing import DEFAULT_TOLERANCE, verify

__all__ = ["IntegrationsReceiver", "ReceivedRequest"]

#: How long :meth:`IntegrationsReceiver.wait_for` waits by default, in seconds.
DEFAULT_WAIT = 10.0


@dataclasses.dataclass(frozen=True)
class ReceivedRequest:
    """One request the receiver got.

    :param method: ``"POST"``, ``"GET"``…
    :param path: The path, without the query string.
    :param query: The query string's values, each name with its first value.
    :param headers: The headers (names are matched case-insensitively).
    :param body: The raw body.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    @property
    def json(self) -> t.Any:
        """The body parsed as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def verify(self, secret: str, *, tolerance: int = DEFAULT_TOLERANCE) -> str:
        """Check the request's Standard Webhooks signature with ``secret``,
        as a receiving service would (see
        :func:`flask_integrations.signing.verify`).

        :return: The ``webhook-id``.
        :raises WebhookVerificationError: Missing headers, an old timestamp,
            or no signature that matches.
        """
        return verify(
            secret, dict(self.headers.items()), self.body, tolerance=tolerance
        )


@dataclasses.dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str]
    path: str | None
    times: int | None


class IntegrationsReceiver:
    """A local HTTP server on ``127.0.0.1`` (a free port) that records every
    request and answers ``200`` unless told otherwise::

        with IntegrationsReceiver() as receiver:
            post_something_to(receiver.url + "hooks/ops")
            (request,) = receiver.wait_for(1)
            assert request.json == {"text": "hello"}

    Requests go to any path and any method. The pytest fixture
    ``integrations_receiver`` starts one for each test and lets the app's
    outbound requests reach it.
    """

    def __init__(self) -> None:
        self._requests: list[ReceivedRequest] = []
        self._replies: list[_Reply] = []
        self._changed = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- starting and stopping ----------------------------------------------

    def start(self) -> IntegrationsReceiver:
        """Start listening; returns the receiver."""
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.05,),
            name="integrations-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close the socket."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        thread.join()

    def __enter__(self) -> IntegrationsReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The receiver's base URL, ``http://127.0.0.1:<port>/``; add any
        path to it."""
        if self._server is None:
            raise RuntimeError("The receiver is not started: call 'start()' first.")
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    # -- what it received -----------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """The requests received so far, oldest first."""
        with self._changed:
            return list(self._requests)

    def wait_for(
        self, count: int = 1, timeout: float = DEFAULT_WAIT
    ) -> list[ReceivedRequest]:
        """Wait until at least ``count`` requests have arrived (deliveries may
        run in other threads or processes) and return them all.

        :param timeout: Seconds to wait at most.
        :raises AssertionError: Fewer arrived in time.
        """
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: len(self._requests) >= count, timeout
            )
            if not arrived:
                raise AssertionError(
                    f"The receiver got {len(self._requests)} requests, not the"
                    f" {count} expected, within {timeout} seconds."
                )
            return list(self._requests)

    def clear(self) -> None:
        """Forget the requests received and the replies set."""
        with self._changed:
            self._requests.clear()
            self._replies.clear()

    # -- answering ----------------------------------------------------------

    def reply(
        self,
        status: int,
        body: bytes | str = b"",
        *,
        headers: t.Mapping[str, str] | None = None,
        path: str | None = None,
        times: int | None = None,
    ) -> None:
        """Answer the next requests with ``status`` (``200`` otherwise).

        The reply set last wins; once it has been used ``times`` times, the
        one set before applies again::

            receiver.reply(503, times=2)   # two failures, then 200: a retry succeeds
            receiver.reply(410)            # every request fails for good

        :param body: The response body (``str`` is sent as UTF-8).
        :param headers: Response headers, e.g. ``{"Retry-After": "1"}``.
        :param path: Only for requests to this path (e.g. ``"/hooks/ops"``).
        :param times: How many requests get it; ``None`` for all of them.
        """
        data = body.encode() if isinstance(body, str) else body
        with self._changed:
            self._replies.append(_Reply(status, data, dict(headers or {}), path, times))

    def _record(self, request: ReceivedRequest) -> _Reply:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()
            for reply in reversed(self._replies):
                if reply.path not in (None, request.path) or reply.times == 0:
                    continue
                if reply.times is not None:
                    reply.times -= 1
                return reply
        return _Reply(200, b"", {}, None, None)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: IntegrationsReceiver) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver = receiver

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        """Clients that hang up early (timeouts, size limits) are expected."""


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: t.Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = ReceivedRequest(
            method=self.command,
            path=url.path,
            query={k: v[0] for k, v in parse_qs(url.query).items()},
            headers=Headers(list(self.headers.items())),
            body=body,
        )
        reply = self.server.receiver._record(request)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle
