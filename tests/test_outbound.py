"""The outbound HTTP client: SSRF checks, pinned connections, timeouts,
size limits, redirects, TLS, and ``OutboundURLField``.

Traffic only ever goes to 127.0.0.1: every test runs with a guard around
``socket.create_connection`` that records each connection attempt, lets
127.0.0.1 through, sends :data:`PUBLIC_IP` (a public address standing for
"some host on the internet") to the local server on the same port, times out
for :data:`BLACKHOLE_IP` and refuses everything else. Host names are resolved
by :class:`FakeResolver`; no test makes a DNS query.
"""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import http.server
import json
import re
import socket
import ssl
import threading
import time
import typing as t
from urllib.parse import parse_qs, urlsplit

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import InputRequired, Optional

from flask_integrations import Integration, IntegrationConfigForm, IntegrationError
from flask_integrations.errors import (
    OutboundNetworkError,
    OutboundRequestError,
    OutboundTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsafeURLError,
)
from flask_integrations.extension import DEFAULT_CONFIG
from flask_integrations.fields import OutboundURLField
from flask_integrations.outbound import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    OutboundClient,
    OutboundResponse,
    check_url,
    default_resolver,
    is_public_address,
)

#: A public address; the guard sends connections to it to the local server.
PUBLIC_IP = "93.184.215.14"
#: Another public address; connecting to it times out (the guard says so).
BLACKHOLE_IP = "93.184.215.15"
#: A public address whose connections the guard refuses.
REFUSING_IP = "93.184.215.16"

HOST = "hooks.example.test"
OTHER_HOST = "other.example.test"

NUMERIC_LOOPBACK_TRICKS = [
    "2130706433",
    "0x7f000001",
    "017700000001",
    "127.1",
    "127.0.1",
    "0x7f.1",
    "0177.1",
]


# -- the local server ----------------------------------------------------------


class Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[dict[str, t.Any]] = []
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        """Clients hanging up early (timeouts, size limits) are expected."""


class Handler(http.server.BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, format: str, *args: t.Any) -> None:
        pass

    def do_GET(self) -> None:
        self.handle_any()

    do_POST = do_PUT = do_HEAD = do_GET

    def handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.requests.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
        )
        parts = url.path.strip("/").split("/")
        route = getattr(self, f"route_{parts[0]}", self.route_echo)
        route(parts[1:], query, body)

    def reply(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        length: bool = True,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route_echo(self, parts: list[str], query: dict[str, str], body: bytes) -> None:
        echo = {
            "method": self.command,
            "path": self.path,
            "host": self.headers["Host"],
            "body": body.decode(),
        }
        self.reply(
            200,
            json.dumps(echo).encode(),
            {"Content-Type": "application/json", "X-Echo": "yes"},
        )

    def route_slow(self, parts: list[str], query: dict[str, str], body: bytes) -> None:
        self.server.stopping.wait(float(query.get("delay", "2")))
        self.reply(200, b"late")

    def route_drip(self, parts: list[str], query: dict[str, str], body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "40")
        self.end_headers()
        for _ in range(40):
            if self.server.stopping.wait(0.05):
                return
            self.wfile.write(b"x")
            self.wfile.flush()

    def route_status(
        self, parts: list[str], query: dict[str, str], body: bytes
    ) -> None:
        status = int(parts[0])
        headers = (
            {"Retry-After": query["retry_after"]} if "retry_after" in query else {}
        )
        self.reply(status, f"status {status}".encode(), headers)

    def route_redirect(
        self, parts: list[str], query: dict[str, str], body: bytes
    ) -> None:
        self.reply(int(query.get("status", "302")), b"", {"Location": query["to"]})

    def route_chain(self, parts: list[str], query: dict[str, str], body: bytes) -> None:
        left = int(parts[0])
        if left:
            self.reply(302, b"", {"Location": f"/chain/{left - 1}"})
        else:
            self.reply(200, b"end of chain")

    def route_big(self, parts: list[str], query: dict[str, str], body: bytes) -> None:
        self.reply(200, b"b" * int(parts[0]))

    def route_stream(
        self, parts: list[str], query: dict[str, str], body: bytes
    ) -> None:
        """A body without Content-Length, ended by closing the connection."""
        self.send_response(200)
        self.end_headers()
        left = int(parts[0])
        while left:
            chunk = min(left, 64 * 1024)
            self.wfile.write(b"s" * chunk)
            left -= chunk

    def route_garbage(
        self, parts: list[str], query: dict[str, str], body: bytes
    ) -> None:
        self.wfile.write(b"this is not HTTP\r\n\r\n")

    def route_gzip(self, parts: list[str], query: dict[str, str], body: bytes) -> None:
        self.reply(
            200, gzip.compress(b"\0" * int(parts[0])), {"Content-Encoding": "gzip"}
        )


@pytest.fixture(scope="module")
def server() -> t.Iterator[Recorder]:
    httpd = Recorder(Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.stopping.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def connections(
    monkeypatch: pytest.MonkeyPatch, server: Recorder
) -> list[tuple[str, int, float | None]]:
    """Every connection attempt as ``(address, port, timeout)``; see the
    module docstring for where each address goes."""
    server.requests.clear()
    real_create_connection = socket.create_connection
    attempts: list[tuple[str, int, float | None]] = []

    def guarded(
        address: tuple[str, int], timeout: t.Any = None, **kwargs: t.Any
    ) -> t.Any:
        host, port = address[0], address[1]
        attempts.append((host, port, timeout))
        if host == "127.0.0.1":
            return real_create_connection(address, timeout, **kwargs)
        if host == PUBLIC_IP:
            return real_create_connection(("127.0.0.1", port), timeout, **kwargs)
        if host == BLACKHOLE_IP:
            raise TimeoutError("timed out")
        raise ConnectionRefusedError(f"The test guard refuses {host}.")

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempts


class FakeResolver:
    """Answers from a table; a list of answers per host is used one call
    after the other (the last one repeats). Records every call."""

    def __init__(self, table: dict[str, t.Any] | None = None) -> None:
        self.table = table or {}
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        answer = self.table.get(host, [])
        if isinstance(answer, BaseException):
            raise answer
        if answer and isinstance(answer[0], list):
            return list(answer[min(len(self.calls_for(host)), len(answer)) - 1])
        return list(answer)

    def calls_for(self, host: str) -> list[tuple[str, int]]:
        return [call for call in self.calls if call[0] == host]


def public_resolver(*hosts: str) -> FakeResolver:
    return FakeResolver({host: [PUBLIC_IP] for host in (HOST, OTHER_HOST, *hosts)})


def make_client(
    resolver: FakeResolver | None = None, **kwargs: t.Any
) -> OutboundClient:
    """A client that admits 127.0.0.1 (only) through its allowlist."""
    kwargs.setdefault("allowlist", ["127.0.0.1"])
    return OutboundClient(resolver=resolver or FakeResolver(), **kwargs)


def local(server: Recorder, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def named(server: Recorder, path: str, host: str = HOST) -> str:
    return f"http://{host}:{server.port}{path}"


def causes(exc: BaseException) -> list[BaseException]:
    chain = []
    current: BaseException | None = exc
    while current is not None:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


# -- sending -------------------------------------------------------------------


def test_post_json_and_read_the_answer(server, connections):
    response = make_client().post(
        local(server, "/echo"), json={"event": "ticket", "n": 1}, headers={"X-A": "1"}
    )

    assert response.status_code == 200
    assert response.ok
    assert response.json()["body"] == '{"event":"ticket","n":1}'
    assert response.headers["x-echo"] == "yes"
    assert response.headers["content-type"] == "application/json"
    assert 0 < response.elapsed < 5
    assert response.redirects == 0
    assert response.url == local(server, "/echo")
    [seen] = server.requests
    assert seen["method"] == "POST"
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["x-a"] == "1"
    assert seen["headers"]["user-agent"].startswith("flask-integrations")
    assert [a[:2] for a in connections] == [("127.0.0.1", server.port)]


def test_the_result_is_immutable(server):
    response = make_client().get(local(server, "/echo"))

    with pytest.raises(dataclasses.FrozenInstanceError):
        response.status_code = 500  # type: ignore[misc]
    with pytest.raises(TypeError):
        response.headers["x-echo"] = "no"  # type: ignore[index]


def test_text_content_and_put(server):
    response = make_client().request("put", local(server, "/echo"), content="héllo")

    assert response.json()["method"] == "PUT"
    assert server.requests[0]["body"] == "héllo".encode()
    assert '"method": "PUT"' in response.text


def test_json_and_content_together_are_refused():
    with pytest.raises(TypeError, match="either 'json' or 'content'"):
        make_client().post("http://127.0.0.1/", json={}, content=b"x")


def test_a_host_name_keeps_its_host_header_and_uses_the_default_connect_timeout(
    server, connections
):
    resolver = public_resolver()
    response = OutboundClient(resolver=resolver).get(named(server, "/echo?a=b"))

    assert response.json()["host"] == f"{HOST}:{server.port}"
    assert response.json()["path"] == "/echo?a=b"
    assert resolver.calls == [(HOST, server.port)]
    assert connections == [(PUBLIC_IP, server.port, DEFAULT_CONNECT_TIMEOUT)]


def test_defaults():
    client = OutboundClient()

    assert (client.connect_timeout, client.read_timeout) == (3.0, 10.0)
    assert client.max_response_bytes == 1024 * 1024
    assert client.max_redirects == 5


def test_error_statuses_are_returned_not_raised(server):
    client = make_client()

    failed = client.post(local(server, "/status/500"), json={})
    limited = client.post(local(server, "/status/429?retry_after=7"), json={})

    assert failed.status_code == 500
    assert not failed.ok
    assert failed.content == b"status 500"
    assert failed.retry_after is None
    assert limited.status_code == 429
    assert limited.retry_after == 7.0


def test_retry_after_as_an_http_date():
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=120
    )
    stamp = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    response = OutboundResponse(429, {"retry-after": stamp}, b"", 0.1, "http://h/")
    past = OutboundResponse(
        429, {"retry-after": "Sun, 06 Nov 1994 08:49:37 GMT"}, b"", 0.1, "http://h/"
    )
    junk = OutboundResponse(429, {"retry-after": "soon"}, b"", 0.1, "http://h/")

    assert response.retry_after is not None
    assert 110 < response.retry_after <= 120
    assert past.retry_after == 0.0
    assert junk.retry_after is None


def test_text_uses_the_declared_charset():
    def text(content_type: str, content: bytes) -> str:
        headers = {"content-type": content_type}
        return OutboundResponse(200, headers, content, 0.1, "http://h/").text

    assert text("text/plain; charset=latin-1", "é".encode("latin-1")) == "é"
    assert text("text/plain; charset=no-such-codec", "é".encode()) == "é"
    assert text("", b"\xff") == "\ufffd"


def test_the_client_reads_the_allowlist_from_the_app_config(server):
    app = Flask(__name__)
    app.config["INTEGRATIONS_OUTBOUND_ALLOWLIST"] = ["127.0.0.1"]
    client = OutboundClient(resolver=FakeResolver())

    with pytest.raises(UnsafeURLError, match="loopback"):
        client.get(local(server, "/echo"))
    with app.app_context():
        assert client.get(local(server, "/echo")).ok


def test_the_allowlist_key_defaults_to_nothing(app):
    assert DEFAULT_CONFIG["INTEGRATIONS_OUTBOUND_ALLOWLIST"] == ()
    assert app.config["INTEGRATIONS_OUTBOUND_ALLOWLIST"] == ()


# -- timeouts and network errors -----------------------------------------------


def test_a_slow_answer_times_out(server):
    started = time.monotonic()
    with pytest.raises(
        OutboundTimeoutError, match=re.escape("did not answer within 0.3 s")
    ) as info:
        make_client().get(local(server, "/slow?delay=2"), timeout=0.3)

    assert time.monotonic() - started < 1.5
    assert isinstance(info.value, OutboundNetworkError)
    assert isinstance(info.value.__cause__, httpcore.ReadTimeout)


def test_the_client_read_timeout_applies(server):
    with pytest.raises(OutboundTimeoutError):
        make_client(read_timeout=0.3).get(local(server, "/slow?delay=2"))


def test_a_trickling_answer_hits_the_total_timeout(server):
    started = time.monotonic()
    with pytest.raises(OutboundTimeoutError, match="in all"):
        make_client(total_timeout=0.3).get(local(server, "/drip"))

    assert time.monotonic() - started < 1.5


def test_connect_timeout(server, connections):
    resolver = FakeResolver({HOST: [BLACKHOLE_IP]})
    with pytest.raises(OutboundTimeoutError, match="Connecting to") as info:
        OutboundClient(resolver=resolver).get(named(server, "/echo"), timeout=(0.2, 1))

    assert isinstance(info.value.__cause__, httpcore.ConnectTimeout)
    assert connections == [(BLACKHOLE_IP, server.port, 0.2)]


def test_connection_refused(connections):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(OutboundNetworkError, match="Could not connect") as info:
        make_client().post(f"http://127.0.0.1:{closed_port}/hook/SECRET", json={})

    assert not isinstance(info.value, OutboundTimeoutError)
    assert any(isinstance(e, ConnectionRefusedError) for e in causes(info.value))
    assert "SECRET" not in str(info.value)
    assert info.value.host == "127.0.0.1"


def test_every_checked_address_is_tried_in_order(server, connections):
    resolver = FakeResolver({HOST: [REFUSING_IP, PUBLIC_IP]})

    response = OutboundClient(resolver=resolver).get(named(server, "/echo"))

    assert response.ok
    assert [a[0] for a in connections] == [REFUSING_IP, PUBLIC_IP]


def test_a_malformed_answer_is_a_network_error(server):
    with pytest.raises(OutboundNetworkError, match="failed") as info:
        make_client().get(local(server, "/garbage"))

    assert isinstance(info.value.__cause__, httpcore.RemoteProtocolError)


def test_a_failing_resolver_is_a_network_error(connections):
    resolver = FakeResolver({HOST: socket.gaierror(socket.EAI_AGAIN, "Try again")})

    with pytest.raises(OutboundNetworkError, match="Could not resolve") as info:
        OutboundClient(resolver=resolver).get(f"https://{HOST}/")

    assert isinstance(info.value.__cause__, socket.gaierror)
    assert connections == []


# -- response size -------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused(server):
    with pytest.raises(ResponseTooLargeError) as info:
        make_client().get(local(server, "/big/1001"), max_response_bytes=1000)

    assert info.value.limit == 1000
    assert info.value.status_code == 200
    assert "1000 bytes" in str(info.value)


def test_a_body_without_length_is_cut_at_the_limit(server):
    client = make_client(max_response_bytes=100_000)

    assert len(client.get(local(server, "/stream/100000")).content) == 100_000
    with pytest.raises(ResponseTooLargeError):
        client.get(local(server, "/stream/100001"))


def test_the_default_limit_is_one_mebibyte(server):
    client = make_client()
    assert DEFAULT_MAX_RESPONSE_BYTES == 1024 * 1024

    assert len(client.get(local(server, f"/big/{2**20}")).content) == 2**20
    with pytest.raises(ResponseTooLargeError):
        client.get(local(server, f"/stream/{2**20 + 1}"))


def test_the_limit_applies_to_the_decoded_body(server):
    with pytest.raises(ResponseTooLargeError):
        make_client().get(local(server, f"/gzip/{4 * 2**20}"))

    response = make_client().get(local(server, "/gzip/5000"))
    assert response.content == b"\0" * 5000


# -- URL checks ----------------------------------------------------------------


@pytest.mark.parametrize("trick", NUMERIC_LOOPBACK_TRICKS)
def test_numeric_hosts_are_read_as_addresses(server, connections, trick):
    resolver = FakeResolver({trick: [PUBLIC_IP]})
    url = f"http://{trick}:{server.port}/echo"

    with pytest.raises(
        UnsafeURLError, match=re.escape("127.0.0.1, a loopback address")
    ) as info:
        OutboundClient(resolver=resolver).get(url)

    assert info.value.address == "127.0.0.1"
    assert resolver.calls == []
    assert connections == []
    # Admitted, the request goes to the address the host stands for.
    assert make_client(resolver).get(url).json()["host"] == f"{trick}:{server.port}"
    assert [a[0] for a in connections] == ["127.0.0.1"]


@pytest.mark.parametrize("trick", NUMERIC_LOOPBACK_TRICKS)
def test_numeric_hosts_through_the_system_resolver(trick):
    try:
        socket.getaddrinfo(trick, 80, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pytest.skip(f"this system does not read {trick!r} as an address")

    answers = default_resolver(trick, 80)

    assert answers == ["127.0.0.1"]
    assert not is_public_address(answers[0])
    resolver = FakeResolver({"looks-like-a-name.test": answers})
    with pytest.raises(UnsafeURLError, match=re.escape("resolves to 127.0.0.1")):
        check_url("http://looks-like-a-name.test/", allowlist=(), resolver=resolver)


def test_the_default_resolver_reports_names_that_do_not_exist(monkeypatch):
    def getaddrinfo(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert default_resolver("nowhere.test", 443) == []


def test_the_default_resolver_lets_other_failures_through(monkeypatch):
    def getaddrinfo(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(socket.gaierror):
        default_resolver("somewhere.test", 443)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "this network"),
        ("100.64.0.1", "shared"),
        ("100.127.255.254", "shared"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.1", "benchmarking"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("192.0.0.8", "IETF"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fc00::1", "unique local"),
        ("fd12:3456::1", "unique local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        ("100::1", "discard"),
        ("::a00:1", "reserved"),
        ("4000::1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:a00:1", "private"),
        ("64:ff9b::127.0.0.1", "NAT64 address wrapping a loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 address wrapping a link-local"),
        ("2002:a00:1::1", "6to4 address wrapping a private"),
        ("2002:7f00:1::", "6to4 address wrapping a loopback"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo address wrapping a private"),
    ],
)
def test_addresses_that_are_not_public_are_refused(connections, address, problem):
    resolver = FakeResolver({HOST: [address]})

    assert not is_public_address(address)
    with pytest.raises(UnsafeURLError, match=problem) as info:
        OutboundClient(resolver=resolver).post(f"https://{HOST}/hook", json={})
    assert info.value.host == HOST
    assert connections == []


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC_IP,
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001::1",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses_pass(address):
    resolver = FakeResolver({HOST: [address]})

    assert is_public_address(address)
    checked = check_url(f"https://{HOST}/", allowlist=(), resolver=resolver)
    assert checked.addresses == (address.removeprefix("::ffff:"),)


@pytest.mark.parametrize(
    "literal",
    [
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]",
        "[64:ff9b::a00:1]",
        "[2002:a9fe:a9fe::]",
        "[fe80::1%25eth0]",
        "10.0.0.1",
        "169.254.169.254",
    ],
)
def test_address_literals_are_checked_without_resolving(connections, literal):
    resolver = FakeResolver()

    with pytest.raises(UnsafeURLError, match="Requests only go to public addresses"):
        OutboundClient(resolver=resolver).get(f"http://{literal}/latest/meta-data/")
    assert resolver.calls == []
    assert connections == []


def test_every_address_of_a_host_must_be_public(connections):
    resolver = FakeResolver({HOST: [PUBLIC_IP, "2606:4700::1", "10.0.0.1"]})

    with pytest.raises(
        UnsafeURLError, match=re.escape("resolves to 10.0.0.1, a private")
    ):
        OutboundClient(resolver=resolver).get(f"http://{HOST}/")
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2@hooks.example.test/",
        "http://user@hooks.example.test/",
        "https://:hunter2@hooks.example.test/",
        "http://127.0.0.1:80@hooks.example.test/",
    ],
)
def test_credentials_in_urls_are_refused(connections, url):
    resolver = public_resolver()

    with pytest.raises(UnsafeURLError, match="user name or password") as info:
        make_client(resolver).get(url)
    assert "hunter2" not in str(info.value)
    assert resolver.calls == []
    assert connections == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.test/file", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://127.0.0.1:6379/_INFO", "scheme 'gopher'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("hooks.example.test/path", "no scheme"),
        ("//hooks.example.test/path", "no scheme"),
        ("http:///path", "no host"),
        ("http://0177.0.0.1/", "not valid"),
        ("http://hooks.example.test:99999/", "port 99999"),
        ("http://hooks.example.test:0/", "port 0"),
    ],
)
def test_bad_urls_are_refused(connections, url, message):
    resolver = public_resolver()

    with pytest.raises(UnsafeURLError, match=message):
        make_client(resolver).get(url)
    assert resolver.calls == []
    assert connections == []


def test_hosts_that_do_not_resolve_are_refused(connections):
    resolver = FakeResolver()

    with pytest.raises(UnsafeURLError, match="does not resolve") as info:
        OutboundClient(resolver=resolver).get(f"https://{HOST}/")
    assert isinstance(info.value, OutboundRequestError)
    assert resolver.calls == [(HOST, 443)]
    assert connections == []


def test_a_resolver_answer_that_is_not_an_address_is_refused():
    with pytest.raises(UnsafeURLError, match="not an IP address"):
        check_url(f"https://{HOST}/", resolver=FakeResolver({HOST: ["bogus"]}))


def test_refusals_do_not_show_the_path_or_query():
    resolver = FakeResolver({HOST: ["10.0.0.1"]})

    with pytest.raises(UnsafeURLError) as info:
        check_url(
            f"https://{HOST}/services/T0/B0/SECRET?token=SECRET2", resolver=resolver
        )
    assert "SECRET" not in str(info.value)
    assert HOST in str(info.value)


# -- the allowlist -------------------------------------------------------------


def test_allowlisted_networks_and_hosts():
    resolver = FakeResolver(
        {
            "hooks.internal": ["10.9.9.9"],
            "other.internal": ["10.9.9.9"],
            "ci.internal": ["10.1.2.3"],
            "db.internal": ["10.2.0.1"],
        }
    )
    allowlist = ["10.1.0.0/16", "Hooks.Internal.", "::1"]

    def check(url: str) -> tuple[str, ...]:
        return check_url(url, allowlist=allowlist, resolver=resolver).addresses

    assert check("http://ci.internal/") == ("10.1.2.3",)
    assert check("http://hooks.internal:8080/") == ("10.9.9.9",)
    assert check("http://[::1]/") == ("::1",)
    for refused in [
        "http://db.internal/",
        "http://other.internal/",
        "http://127.0.0.1/",
    ]:
        with pytest.raises(UnsafeURLError):
            check(refused)


def test_allowlisting_an_address_admits_only_that_address():
    for url in ["http://127.0.0.2/", "http://[::1]/", "http://10.0.0.1/"]:
        with pytest.raises(UnsafeURLError):
            check_url(url, allowlist=["127.0.0.1"], resolver=FakeResolver())
    assert check_url(
        "http://[::ffff:127.0.0.1]/", allowlist=["127.0.0.1"]
    ).addresses == ("127.0.0.1",)


@pytest.mark.parametrize(
    ("allowlist", "message"),
    [
        ("127.0.0.1", "not the string"),
        (["10.0.0.0/33"], "Invalid network"),
        ([""], "Invalid entry"),
    ],
)
def test_malformed_allowlists_are_reported(allowlist, message):
    with pytest.raises(IntegrationError, match=message):
        check_url("http://127.0.0.1/", allowlist=allowlist)


# -- DNS rebinding -------------------------------------------------------------


def test_the_connection_goes_to_the_address_that_was_checked(server, connections):
    """A resolver that answers a public address, then a private one, cannot
    make the client connect to the private one."""
    resolver = FakeResolver({HOST: [[PUBLIC_IP], ["10.0.0.1"]]})
    client = OutboundClient(resolver=resolver)

    response = client.post(named(server, "/echo"), json={"n": 1})

    assert response.json()["host"] == f"{HOST}:{server.port}"
    assert resolver.calls == [(HOST, server.port)]
    assert [a[0] for a in connections] == [PUBLIC_IP]

    with pytest.raises(UnsafeURLError, match=re.escape("10.0.0.1")):
        client.post(named(server, "/echo"), json={"n": 2})
    assert len(resolver.calls) == 2
    assert [a[0] for a in connections] == [PUBLIC_IP]
    assert len(server.requests) == 1


def test_each_redirect_hop_resolves_once(server, connections):
    resolver = public_resolver()
    target = named(server, "/echo", OTHER_HOST)
    url = named(server, f"/redirect?to={target}")

    response = OutboundClient(resolver=resolver).get(url, follow_redirects=True)

    assert response.json()["host"] == f"{OTHER_HOST}:{server.port}"
    assert response.redirects == 1
    assert response.url == target
    assert resolver.calls == [(HOST, server.port), (OTHER_HOST, server.port)]
    assert [a[0] for a in connections] == [PUBLIC_IP, PUBLIC_IP]


# -- redirects -----------------------------------------------------------------


PRIVATE_TARGETS = [
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://0xa9fea9fe/admin",
    "http://metadata.internal/computeMetadata/v1/",
]


@pytest.mark.parametrize("target", PRIVATE_TARGETS)
def test_redirects_are_not_followed_by_default(server, connections, target):
    resolver = FakeResolver({"metadata.internal": ["169.254.169.254"]})

    response = make_client(resolver).get(local(server, f"/redirect?to={target}"))

    assert response.status_code == 302
    assert response.headers["location"] == target
    assert resolver.calls == []
    assert [a[0] for a in connections] == ["127.0.0.1"]


@pytest.mark.parametrize("target", PRIVATE_TARGETS)
def test_redirects_to_private_addresses_are_refused_before_connecting(
    server, connections, target
):
    resolver = FakeResolver({"metadata.internal": ["169.254.169.254"]})

    with pytest.raises(UnsafeURLError, match="Requests only go to public addresses"):
        make_client(resolver).get(
            local(server, f"/redirect?to={target}"), follow_redirects=True
        )
    assert [a[0] for a in connections] == ["127.0.0.1"]
    assert len(server.requests) == 1
    assert resolver.calls in ([], [("metadata.internal", 80)])


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("ftp://hooks.example.test/", "scheme 'ftp'"),
        ("http://user:pw@hooks.example.test/", "user name or password"),
        ("http://nowhere.example.test/", "does not resolve"),
    ],
)
def test_redirect_targets_get_every_check(server, connections, target, message):
    with pytest.raises(UnsafeURLError, match=message):
        make_client(public_resolver()).get(
            local(server, f"/redirect?to={target}"), follow_redirects=True
        )
    assert [a[0] for a in connections] == ["127.0.0.1"]


def test_an_invalid_redirect_location_is_refused(server):
    with pytest.raises(UnsafeURLError, match="redirected to an invalid URL"):
        make_client().get(
            local(server, "/redirect?to=http://h:port/"), follow_redirects=True
        )


def test_at_most_five_redirects(server):
    client = make_client()

    response = client.get(local(server, "/chain/5"), follow_redirects=True)
    assert response.content == b"end of chain"
    assert response.redirects == 5

    server.requests.clear()
    with pytest.raises(TooManyRedirectsError, match="more than 5 times"):
        client.get(local(server, "/chain/6"), follow_redirects=True)
    assert len(server.requests) == 6


def test_see_other_turns_a_post_into_a_get(server):
    response = make_client().post(
        local(server, "/redirect?status=303&to=/echo"),
        json={"a": 1},
        follow_redirects=True,
    )

    assert response.json()["method"] == "GET"
    assert response.json()["body"] == ""
    assert "content-type" not in server.requests[1]["headers"]


def test_temporary_redirect_keeps_method_and_body(server):
    response = make_client().post(
        local(server, "/redirect?status=307&to=/echo"),
        json={"a": 1},
        follow_redirects=True,
    )

    assert response.json()["method"] == "POST"
    assert response.json()["body"] == '{"a":1}'


def test_credentials_stay_with_their_origin(server):
    resolver = public_resolver()
    client = OutboundClient(resolver=resolver, headers={"X-Api-Key": "k"})
    headers = {"Authorization": "Bearer t", "X-Signature": "s", "Accept-Language": "fr"}
    same = named(server, "/echo")
    other = named(server, "/echo", OTHER_HOST)

    client.get(
        named(server, f"/redirect?to={same}"), headers=headers, follow_redirects=True
    )
    client.get(
        named(server, f"/redirect?to={other}"), headers=headers, follow_redirects=True
    )

    same_hop, other_hop = server.requests[1]["headers"], server.requests[3]["headers"]
    assert same_hop["authorization"] == "Bearer t"
    assert same_hop["x-api-key"] == "k"
    assert "authorization" not in other_hop
    assert "x-signature" not in other_hop
    assert "x-api-key" not in other_hop
    assert other_hop["accept-language"] == "fr"
    assert other_hop["user-agent"].startswith("flask-integrations")


# -- TLS -----------------------------------------------------------------------


def make_certificates(hostname: str) -> tuple[bytes, bytes, bytes]:
    """A CA and a server certificate for ``hostname``: (CA, cert, key) PEM."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return (
        ca.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key_pem,
    )


@pytest.fixture(scope="module")
def tls_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> t.Iterator[tuple[Recorder, ssl.SSLContext, list[str]]]:
    """An HTTPS server with a certificate for ``HOST``, the client context
    that trusts it, and the SNI names it receives."""
    ca_pem, cert_pem, key_pem = make_certificates(HOST)
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(key_pem)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    sni: list[str] = []
    server_context.sni_callback = lambda sock, name, context: sni.append(name)
    httpd = Recorder(Handler)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd, ssl.create_default_context(cadata=ca_pem.decode()), sni
    httpd.stopping.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_https_keeps_the_host_name_for_sni_and_certificate(tls_server, connections):
    httpd, context, sni = tls_server
    sni.clear()
    resolver = public_resolver()
    client = OutboundClient(resolver=resolver, ssl_context=context)

    response = client.post(f"https://{HOST}:{httpd.port}/echo", json={"a": 1})

    assert response.json()["host"] == f"{HOST}:{httpd.port}"
    assert sni == [HOST]
    assert connections == [(PUBLIC_IP, httpd.port, DEFAULT_CONNECT_TIMEOUT)]


def test_https_refuses_a_certificate_for_another_name(tls_server, connections):
    httpd, context, _ = tls_server
    client = OutboundClient(resolver=public_resolver(), ssl_context=context)

    with pytest.raises(OutboundNetworkError) as info:
        client.get(f"https://{OTHER_HOST}:{httpd.port}/echo")
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in causes(info.value))
    assert [a[0] for a in connections] == [PUBLIC_IP]


def test_https_refuses_an_untrusted_certificate(tls_server):
    httpd, _, _ = tls_server

    with pytest.raises(OutboundNetworkError, match="CERTIFICATE_VERIFY_FAILED"):
        OutboundClient(resolver=public_resolver()).get(f"https://{HOST}:{httpd.port}/")


# -- OutboundURLField ----------------------------------------------------------


class WebhookForm(Form):
    url = OutboundURLField("Webhook URL", validators=[Optional()])


#: Reached through ``INTEGRATIONS_OUTBOUND_RESOLVER = "tests.test_outbound:..."``.
MODULE_RESOLVER = FakeResolver({HOST: [PUBLIC_IP], "intranet.test": ["10.0.0.7"]})


@pytest.fixture
def field_app() -> t.Iterator[Flask]:
    app = Flask(__name__)
    app.config["INTEGRATIONS_OUTBOUND_RESOLVER"] = FakeResolver(
        {
            HOST: [PUBLIC_IP],
            "intranet.test": ["10.0.0.7"],
            "flaky.test": socket.gaierror(socket.EAI_AGAIN, "Temporary failure"),
        }
    )
    app.config["INTEGRATIONS_OUTBOUND_ALLOWLIST"] = ["127.0.0.1"]
    with app.app_context():
        yield app


def validate(url: str) -> WebhookForm:
    form = WebhookForm(MultiDict({"url": url}))
    form.validate()
    return form


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://intranet.test/hook", "resolves to 10.0.0.7, a private address"),
        ("http://169.254.169.254/", "link-local"),
        ("http://2130706434/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("ftp://hooks.example.test/", "scheme 'ftp'"),
        ("https://bot:secret@hooks.example.test/", "user name or password"),
        ("https://missing.test/", "does not resolve"),
        ("https://flaky.test/", "could not be looked up right now"),
    ],
)
def test_the_field_refuses_urls_the_client_would_refuse(field_app, url, error):
    form = validate(url)

    assert form.url.errors
    assert error in " ".join(form.url.errors)


def test_the_field_accepts_public_and_allowlisted_urls(field_app):
    form = validate(f"  https://{HOST}/services/abc  ")

    assert form.url.errors == []
    assert form.url.data == f"https://{HOST}/services/abc"
    assert validate("http://127.0.0.1:5000/hook").url.errors == []
    assert validate("").url.errors == []
    assert 'type="url"' in form.url()


def test_the_field_resolves_with_the_configured_resolver(field_app):
    resolver = field_app.config["INTEGRATIONS_OUTBOUND_RESOLVER"]

    validate(f"https://{HOST}/a")
    validate("")

    assert resolver.calls == [(HOST, 443)]


def test_the_field_takes_a_resolver_import_string():
    app = Flask(__name__)
    app.config["INTEGRATIONS_OUTBOUND_RESOLVER"] = "tests.test_outbound:MODULE_RESOLVER"
    MODULE_RESOLVER.calls.clear()

    with app.app_context():
        assert "private" in " ".join(validate("http://intranet.test/").url.errors)
        assert validate(f"https://{HOST}/").url.errors == []
    assert len(MODULE_RESOLVER.calls) == 2


def test_the_field_runs_after_required():
    class RequiredForm(Form):
        url = OutboundURLField("URL", validators=[InputRequired()])

    form = RequiredForm(MultiDict({"url": ""}))

    assert not form.validate()
    assert len(form.url.errors) == 1


class HookForm(IntegrationConfigForm):
    webhook_url = OutboundURLField("Webhook URL", validators=[InputRequired()])


class HookIntegration(Integration):
    integration_id = "test_outbound.hook"
    name = "Hook"
    config_form_cls = HookForm


@pytest.fixture
def app_config() -> dict[str, t.Any]:
    return {
        "INTEGRATIONS_OUTBOUND_RESOLVER": FakeResolver(
            {HOST: [PUBLIC_IP], "intranet.test": ["10.0.0.7"]}
        )
    }


def test_a_configuration_with_an_unsafe_url_is_not_saved(app, manager):
    hook = manager.register_integration_class(HookIntegration)
    post = {"name": "ops", "enabled": "y"}

    with app.test_request_context(
        method="POST", data={**post, "webhook_url": "http://intranet.test/hook"}
    ):
        form = HookForm(hook)
        assert not form.validate()
        assert "private address" in " ".join(form.webhook_url.errors)

    with app.test_request_context(
        method="POST", data={**post, "webhook_url": f"https://{HOST}/hook"}
    ):
        form = HookForm(hook)
        assert form.validate(), form.errors
        config = form.save()
    assert config.settings["webhook_url"] == f"https://{HOST}/hook"
