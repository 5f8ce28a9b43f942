"""Sending HTTP requests to other services safely.

Integrations talk to the outside world through :class:`OutboundClient`::

    client = OutboundClient()
    response = client.post(config.get("webhook_url"), json={"text": "Hello"})
    if not response.ok:
        ...

Every request, and every redirect it follows, passes :func:`check_url`
first: only ``http`` and ``https``, no credentials in the URL, and a host
whose addresses are all public unicast (private, loopback, link-local,
multicast, reserved, documentation… addresses are refused, also when wrapped
in IPv4-mapped, NAT64, 6to4 or Teredo IPv6 addresses). The host is resolved
once per request (or redirect) and the connection goes to the address that
was checked, so a second DNS answer cannot point it elsewhere (DNS
rebinding). The ``Host`` header, TLS SNI and certificate verification still
use the host name of the URL.

Exceptions to the address rule come only from the config key
``INTEGRATIONS_OUTBOUND_ALLOWLIST`` (or the client's ``allowlist``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import email.message
import email.utils
import functools
import ipaddress
import json as jsonlib
import socket
import ssl
import time
import typing as t
from types import MappingProxyType
from urllib.parse import unquote

import httpcore
import httpx
from flask import current_app, has_app_context
from werkzeug.utils import import_string

from .errors import (
    IntegrationError,
    OutboundNetworkError,
    OutboundRequestError,
    OutboundTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsafeURLError,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "CheckedURL",
    "OutboundClient",
    "OutboundResponse",
    "Resolver",
    "check_url",
    "current_resolver",
    "default_resolver",
    "is_public_address",
]

#: ``resolve(host, port)`` returns the IP addresses of ``host`` as strings;
#: an empty list means the host does not exist.
Resolver = t.Callable[[str, int], t.Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Seconds for both connect and read, or a ``(connect, read)`` pair.
TimeoutSpec = float | tuple[float, float]

#: Seconds to connect to one address (TLS handshake included).
DEFAULT_CONNECT_TIMEOUT = 3.0
#: Seconds to wait for each piece of the response, or to send each piece of
#: the request.
DEFAULT_READ_TIMEOUT = 10.0
#: Seconds for the whole request, redirects and body included.
DEFAULT_TOTAL_TIMEOUT = 30.0
#: The largest response body accepted, in bytes, after decoding.
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
#: The most redirects followed, when asked to follow them.
DEFAULT_MAX_REDIRECTS = 5

USER_AGENT = f"flask-integrations (python-httpx/{httpx.__version__})"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: The only headers still sent after a redirect to another origin.
_CROSS_ORIGIN_HEADERS = frozenset(
    {"accept", "accept-language", "content-type", "user-agent"}
)

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
_BLOCKED_NETWORKS: tuple[tuple[IPNetwork, str], ...] = (
    (_V4("0.0.0.0/8"), "a 'this network' address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.0.0.0/24"), "an IETF protocol address"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("192.88.99.0/24"), "a 6to4 relay address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("198.18.0.0/15"), "a benchmarking address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
    (_V6("::/128"), "the unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("2001::/23"), "an IETF protocol address"),
    (_V6("2001:db8::/32"), "a documentation address"),
    (_V6("3fff::/20"), "a documentation address"),
    (_V6("fc00::/7"), "a unique local address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address"),
    (_V6("ff00::/8"), "a multicast address"),
)
_GLOBAL_UNICAST_V6 = _V6("2000::/3")
_NAT64 = _V6("64:ff9b::/96")


# -- addresses -------------------------------------------------------------


def _embedded_ipv4(
    ip: ipaddress.IPv6Address,
) -> tuple[str, tuple[ipaddress.IPv4Address, ...]] | None:
    """The IPv4 addresses an IPv6 address stands for, and the kind of
    wrapping, if any (IPv4-mapped addresses are unwrapped before)."""
    if ip in _NAT64:
        return "NAT64", (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return "6to4", (ip.sixtofour,)
    if ip.teredo is not None:
        return "Teredo", ip.teredo
    return None


def _address_problem(ip: IPAddress) -> str | None:
    """Say what kind of non-public address ``ip`` is, or ``None`` when it is
    public unicast."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _address_problem(ip.ipv4_mapped)
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            kind, inner = embedded
            for address in inner:
                problem = _address_problem(address)
                if problem is not None:
                    return f"a {kind} address wrapping {problem} ({address})"
            return None
    for network, label in _BLOCKED_NETWORKS:
        if ip.version == network.version and ip in network:
            return label
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return "a reserved address"
    if not ip.is_global or ip.is_multicast:
        return "an address that is not public"
    return None


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a public unicast IP address.

    IPv4-mapped, NAT64 (``64:ff9b::/96``), 6to4 (``2002::/16``) and Teredo
    addresses are judged by the IPv4 addresses inside them.

    :raises ValueError: ``address`` is not an IP address.
    """
    return _address_problem(ipaddress.ip_address(address)) is None


def _normalise(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is its IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, read the way the system would.

    ``socket.inet_aton`` accepts the short and numeric forms
    (``127.1``, ``2130706433``, ``0x7f000001``, ``017700000001``) that URL
    parsers take for names but the system's resolver treats as addresses.
    """
    try:
        return _normalise(ipaddress.ip_address(unquote(host)))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


# -- resolution and the allowlist -----------------------------------------

_NOT_FOUND_ERRORS = frozenset(
    {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
)


def default_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with :func:`socket.getaddrinfo`.

    :return: The distinct addresses, in the system's order; empty when the
        name does not exist.
    :raises OSError: Resolution failed for another reason (e.g. no DNS
        server answered); the client reports it as a network error.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in _NOT_FOUND_ERRORS:
            return []
        raise
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def current_resolver() -> Resolver:
    """The resolver set in ``INTEGRATIONS_OUTBOUND_RESOLVER`` (a callable or
    a ``"module:attr"`` string) when inside an app context, else
    :func:`default_resolver`."""
    if has_app_context():
        configured = current_app.config.get("INTEGRATIONS_OUTBOUND_RESOLVER")
        if isinstance(configured, str):
            configured = import_string(configured.replace(":", "."))
        if configured is not None:
            return t.cast(Resolver, configured)
    return default_resolver


def _current_allowlist() -> t.Iterable[str]:
    if has_app_context():
        return current_app.config.get("INTEGRATIONS_OUTBOUND_ALLOWLIST") or ()
    return ()


@dataclasses.dataclass(frozen=True)
class _Allowlist:
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries: t.Iterable[str]) -> _Allowlist:
        if isinstance(entries, (str, bytes)):
            raise IntegrationError(
                "'INTEGRATIONS_OUTBOUND_ALLOWLIST' must be a list of host names,"
                f" addresses or networks, not the string {entries!r}: write"
                f" [{entries!r}]."
            )
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            if not isinstance(entry, str) or not entry.strip():
                raise IntegrationError(
                    f"Invalid entry {entry!r} in 'INTEGRATIONS_OUTBOUND_ALLOWLIST':"
                    " use host names, IP addresses or CIDR networks."
                )
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                if "/" in entry:
                    raise IntegrationError(
                        f"Invalid network '{entry}' in"
                        " 'INTEGRATIONS_OUTBOUND_ALLOWLIST': write it as e.g."
                        " '10.1.0.0/16'."
                    ) from None
                hosts.add(entry.strip().rstrip(".").lower())
        return cls(frozenset(hosts), tuple(networks))

    def admits_host(self, url: httpx.URL) -> bool:
        names = {url.host.rstrip(".").lower(), url.raw_host.decode().rstrip(".")}
        return not names.isdisjoint(self.hosts)

    def admits_address(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)


# -- checking URLs ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CheckedURL:
    """A URL that passed :func:`check_url`, with the addresses it may be
    connected to.

    :param url: The parsed URL.
    :param addresses: The checked addresses, in the order to try them.
    """

    url: httpx.URL
    addresses: tuple[str, ...]

    @property
    def host(self) -> str:
        """The host as sent on the wire (IDNA-encoded, IPv6 unbracketed)."""
        return self.url.raw_host.decode("ascii")

    @property
    def port(self) -> int:
        """The port, explicit or the scheme's default."""
        return self.url.port or _DEFAULT_PORTS[self.url.scheme]

    @property
    def origin(self) -> str:
        """``host[:port]`` as in the URL, for messages: never the path or
        query, which may hold a secret."""
        return self.url.netloc.decode("ascii")


def _parse_url(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeURLError(f"The URL is not valid: {exc}") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        scheme = f"scheme '{parsed.scheme}'" if parsed.scheme else "no scheme"
        raise UnsafeURLError(
            f"The URL has {scheme}: only 'http://' and 'https://' URLs can be used."
        )
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise UnsafeURLError("The URL has no host: write it as 'https://host/path'.")
    if parsed.userinfo:
        raise UnsafeURLError(
            f"The URL for '{host}' contains a user name or password: remove"
            " them from the URL and pass credentials in a header instead.",
            host,
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeURLError(f"The port {parsed.port} of '{host}' is not valid.", host)
    return parsed


def _resolve(resolver: Resolver, host: str, port: int) -> list[IPAddress]:
    try:
        answers = list(resolver(host, port))
    except OutboundRequestError:
        raise
    except OSError as exc:
        raise OutboundNetworkError(
            f"Could not resolve the host '{host}': {exc}. Try again later.", host
        ) from exc
    if not answers:
        raise UnsafeURLError(
            f"The host '{host}' does not resolve to any address: check the URL"
            " for typos.",
            host,
        )
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            ip = _normalise(ipaddress.ip_address(answer))
        except ValueError as exc:
            raise UnsafeURLError(
                f"The resolver returned {answer!r} for '{host}', which is not an"
                " IP address.",
                host,
            ) from exc
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def check_url(
    url: str | httpx.URL,
    *,
    allowlist: t.Iterable[str] | None = None,
    resolver: Resolver | None = None,
) -> CheckedURL:
    """Check that requests may be sent to ``url``, resolving its host once.

    The URL must be ``http`` or ``https`` without credentials, and every
    address of its host must be public unicast, unless the host or the
    address is in the allowlist. A host spelled as an address (including
    forms such as ``2130706433`` or ``127.1``) is not resolved.

    :param allowlist: Host names, addresses and CIDR networks admitted even
        though not public; defaults to ``INTEGRATIONS_OUTBOUND_ALLOWLIST``.
    :param resolver: Defaults to :func:`current_resolver`.
    :raises UnsafeURLError: The URL may not be used.
    :raises OutboundNetworkError: The resolver failed (e.g. DNS is down).
    """
    parsed = _parse_url(url)
    rules = _Allowlist.parse(_current_allowlist() if allowlist is None else allowlist)
    host = parsed.raw_host.decode("ascii")
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
        addresses = _resolve(resolver or current_resolver(), host, port)
    host_admitted = literal is None and rules.admits_host(parsed)
    for ip in addresses:
        problem = _address_problem(ip)
        if problem is None or host_admitted or rules.admits_address(ip):
            continue
        if literal is None:
            what = f"The host '{host}' resolves to {ip}, {problem}."
        elif unquote(host) == str(ip):
            what = f"The address '{host}' is {problem}."
        else:
            what = f"The host '{host}' stands for {ip}, {problem}."
        raise UnsafeURLError(
            f"{what} Requests only go to public addresses; add the host or"
            " address to 'INTEGRATIONS_OUTBOUND_ALLOWLIST' if the app must"
            " reach it.",
            host,
            str(ip),
        )
    return CheckedURL(parsed, tuple(str(ip) for ip in addresses))


# -- connecting to the checked address ------------------------------------


class _PinnedBackend(httpcore.NetworkBackend):
    """Opens TCP connections to the checked addresses of one host, and
    nowhere else."""

    def __init__(self, target: CheckedURL) -> None:
        self._target = target
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: t.Iterable[t.Any] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) != (self._target.host, self._target.port):  # pragma: no cover
            raise httpcore.ConnectError(f"'{host}:{port}' was not checked.")
        error: Exception | None = None
        for address in self._target.addresses:
            try:
                return self._backend.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError("No address to connect to.")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: t.Iterable[t.Any] | None = None,
    ) -> httpcore.NetworkStream:  # pragma: no cover
        raise httpcore.ConnectError("Unix sockets are not used for outbound requests.")

    def sleep(self, seconds: float) -> None:  # pragma: no cover
        time.sleep(seconds)


class _CoreStream(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    def __iter__(self) -> t.Iterator[bytes]:
        yield from self._response.iter_stream()

    def close(self) -> None:
        self._response.close()


class _PinnedTransport(httpx.BaseTransport):
    """Sends one exchange over a fresh connection to a checked address;
    the URL, and so the ``Host`` header and TLS SNI, keep the host name."""

    def __init__(self, target: CheckedURL, ssl_context: ssl.SSLContext) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=1,
            max_keepalive_connections=0,
            network_backend=_PinnedBackend(target),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_response = self._pool.handle_request(
            httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=request.url.raw_scheme,
                    host=request.url.raw_host,
                    port=request.url.port,
                    target=request.url.raw_path,
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
        )
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_CoreStream(core_response),
            extensions=core_response.extensions,
            request=request,
        )

    def close(self) -> None:
        self._pool.close()


# -- responses -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OutboundResponse:
    """The outcome of a request that got an answer (of any status).

    :param status_code: The HTTP status of the last response.
    :param headers: Its headers, names in lower case (repeated headers
        joined with ``", "``).
    :param content: Its body, decoded from any ``Content-Encoding``.
    :param elapsed: Seconds from sending the first request to reading the
        last body, redirects included.
    :param url: The URL that gave the last response.
    :param redirects: How many redirects were followed.
    """

    status_code: int
    headers: t.Mapping[str, str]
    content: bytes
    elapsed: float
    url: str
    redirects: int = 0

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        """The body decoded with the charset of ``Content-Type`` (UTF-8 by
        default); undecodable bytes are replaced."""
        message = email.message.Message()
        message["content-type"] = self.headers.get("content-type", "")
        charset = message.get_content_charset() or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> t.Any:
        """The body parsed as JSON.

        :raises ValueError: It is not JSON.
        """
        return jsonlib.loads(self.content)

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait according to ``Retry-After`` (seconds or an HTTP
        date), or ``None`` when absent or unreadable."""
        value = self.headers.get("retry-after", "").strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        now = datetime.datetime.now(datetime.timezone.utc)
        return max(0.0, (when - now).total_seconds())


# -- the client ------------------------------------------------------------


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds: do it once.
    return httpx.create_ssl_context()


def _origin(url: httpx.URL) -> tuple[str, bytes, int]:
    return url.scheme, url.raw_host, url.port or _DEFAULT_PORTS.get(url.scheme, 0)


class OutboundClient:
    """Sends HTTP requests to other services with the checks of
    :func:`~flask_integrations.outbound.check_url`, timeouts and a bounded
    response size.

    A client holds no connection between requests and is safe to share
    between threads. Responses of any status are returned; failures to get
    one raise an :class:`~flask_integrations.errors.OutboundRequestError`.
    Proxy environment variables are not used.

    :param allowlist: Host names, addresses and CIDR networks admitted even
        though not public. ``None`` reads ``INTEGRATIONS_OUTBOUND_ALLOWLIST``
        from the current app at each request.
    :param resolver: ``resolve(host, port) -> list[str]``. ``None`` uses
        ``INTEGRATIONS_OUTBOUND_RESOLVER`` or
        :func:`~flask_integrations.outbound.default_resolver`.
    :param connect_timeout: Seconds to connect (and finish the TLS
        handshake) to one address.
    :param read_timeout: Seconds to wait for each piece of the response
        (and to send each piece of the request).
    :param total_timeout: Seconds for the whole request, redirects and body
        included, checked as the body arrives; ``None`` for no limit.
    :param max_response_bytes: Largest body accepted, after decoding.
    :param max_redirects: Most redirects followed when asked to follow them.
    :param ssl_context: Verifies servers' certificates; defaults to httpx's
        (certifi's CA bundle).
    :param headers: Headers sent with every request (a request's own
        headers win).
    """

    def __init__(
        self,
        *,
        allowlist: t.Iterable[str] | None = None,
        resolver: Resolver | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        ssl_context: ssl.SSLContext | None = None,
        headers: t.Mapping[str, str] | None = None,
    ) -> None:
        self.allowlist = None if allowlist is None else tuple(allowlist)
        self.resolver = resolver
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_response_bytes = max_response_bytes
        self.max_redirects = max_redirects
        self.ssl_context = ssl_context or _default_ssl_context()
        self.headers = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}

    def get(
        self,
        url: str,
        *,
        headers: t.Mapping[str, str] | None = None,
        timeout: TimeoutSpec | None = None,
        follow_redirects: bool = False,
        max_response_bytes: int | None = None,
    ) -> OutboundResponse:
        """Send a ``GET`` request; see :meth:`request`."""
        return self.request(
            "GET",
            url,
            headers=headers,
            timeout=timeout,
            follow_redirects=follow_redirects,
            max_response_bytes=max_response_bytes,
        )

    def post(
        self,
        url: str,
        *,
        json: t.Any = None,
        content: bytes | str | None = None,
        headers: t.Mapping[str, str] | None = None,
        timeout: TimeoutSpec | None = None,
        follow_redirects: bool = False,
        max_response_bytes: int | None = None,
    ) -> OutboundResponse:
        """Send a ``POST`` request; see :meth:`request`."""
        return self.request(
            "POST",
            url,
            json=json,
            content=content,
            headers=headers,
            timeout=timeout,
            follow_redirects=follow_redirects,
            max_response_bytes=max_response_bytes,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        json: t.Any = None,
        content: bytes | str | None = None,
        headers: t.Mapping[str, str] | None = None,
        timeout: TimeoutSpec | None = None,
        follow_redirects: bool = False,
        max_response_bytes: int | None = None,
    ) -> OutboundResponse:
        """Send a request and read the whole response.

        Redirects are returned as they are unless ``follow_redirects`` is
        true; then each target is checked like the first URL, at most
        ``max_redirects`` times. ``301``/``302`` turn ``POST`` into ``GET``
        and ``303`` turns anything but ``HEAD`` into ``GET`` (without body);
        a redirect to another origin keeps only the ``Accept``,
        ``Accept-Language``, ``Content-Type`` and ``User-Agent`` headers, so
        credentials and signatures never reach another host.

        :param json: A value sent as a JSON body.
        :param content: A raw body (``str`` is sent as UTF-8).
        :param timeout: Seconds for connect and read, or ``(connect, read)``;
            defaults to the client's.
        :param max_response_bytes: Defaults to the client's.
        :raises UnsafeURLError: The URL, or a redirect target, may not be used.
        :raises TooManyRedirectsError: More redirects than allowed.
        :raises ResponseTooLargeError: The body exceeds the limit.
        :raises OutboundTimeoutError: A timeout expired.
        :raises OutboundNetworkError: Resolving, connecting, sending or reading
            failed; the cause is chained.
        """
        if json is not None and content is not None:
            raise TypeError("Pass either 'json' or 'content', not both.")
        body = self._encode(json, content)
        all_headers = {**self.headers, **(headers or {})}
        if json is not None:
            all_headers.setdefault("Content-Type", "application/json")
        state = _Exchange(
            method=method.upper(),
            url=url,
            headers=all_headers,
            body=body,
            timeout=self._timeout(timeout),
            limit=(
                self.max_response_bytes
                if max_response_bytes is None
                else max_response_bytes
            ),
            started=time.monotonic(),
        )
        for redirects in range(self.max_redirects + 1):
            target = check_url(
                state.url, allowlist=self.allowlist, resolver=self.resolver
            )
            outcome = self._send(target, state, follow_redirects)
            if isinstance(outcome, OutboundResponse):
                return dataclasses.replace(outcome, redirects=redirects)
            state = state.redirected(target, *outcome)
        raise TooManyRedirectsError(
            f"The request to '{target.origin}' was redirected more than"
            f" {self.max_redirects} times. Use the final URL instead.",
            target.host,
        )

    @staticmethod
    def _encode(json: t.Any, content: bytes | str | None) -> bytes | None:
        if json is not None:
            text = jsonlib.dumps(json, separators=(",", ":"), allow_nan=False)
            return text.encode("utf-8")
        if isinstance(content, str):
            return content.encode("utf-8")
        return content

    def _timeout(self, timeout: TimeoutSpec | None) -> httpx.Timeout:
        if timeout is None:
            connect, read = self.connect_timeout, self.read_timeout
        elif isinstance(timeout, tuple):
            connect, read = timeout
        else:
            connect = read = timeout
        return httpx.Timeout(read, connect=connect)

    def _send(
        self, target: CheckedURL, state: _Exchange, follow_redirects: bool
    ) -> OutboundResponse | tuple[int, str]:
        """Send one request; return the response, or the status and location
        of a redirect to follow."""
        state.check_deadline(self.total_timeout, target)
        request = httpx.Request(
            state.method,
            target.url,
            headers=state.headers,
            content=state.body,
            extensions={"timeout": state.timeout.as_dict()},
        )
        with self._exchange(target, state, request) as response:
            location = response.headers.get("location")
            if (
                follow_redirects
                and location
                and response.status_code in _REDIRECT_STATUSES
            ):
                return response.status_code, location
            content = self._read(response, target, state)
        return OutboundResponse(
            status_code=response.status_code,
            headers=MappingProxyType(
                {name.lower(): value for name, value in response.headers.items()}
            ),
            content=content,
            elapsed=time.monotonic() - state.started,
            url=str(target.url),
        )

    @contextlib.contextmanager
    def _exchange(
        self, target: CheckedURL, state: _Exchange, request: httpx.Request
    ) -> t.Iterator[httpx.Response]:
        transport = _PinnedTransport(target, self.ssl_context)
        try:
            response = transport.handle_request(request)
            try:
                yield response
            finally:
                response.close()
        except httpcore.ConnectTimeout as exc:
            raise OutboundTimeoutError(
                f"Connecting to '{target.origin}' took longer than"
                f" {state.timeout.connect} s. Check that the service is up.",
                target.host,
            ) from exc
        except httpcore.TimeoutException as exc:
            raise OutboundTimeoutError(
                f"'{target.origin}' did not answer within {state.timeout.read} s.",
                target.host,
            ) from exc
        except httpcore.ConnectError as exc:
            raise OutboundNetworkError(
                f"Could not connect to '{target.origin}': {exc}. Check that the"
                " service is up and the URL is right.",
                target.host,
            ) from exc
        except (
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
            httpx.HTTPError,
        ) as exc:
            raise OutboundNetworkError(
                f"The request to '{target.origin}' failed:"
                f" {str(exc) or type(exc).__name__}.",
                target.host,
            ) from exc
        finally:
            transport.close()

    def _read(
        self, response: httpx.Response, target: CheckedURL, state: _Exchange
    ) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > state.limit:
            raise ResponseTooLargeError(
                target.origin, state.limit, response.status_code
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > state.limit:
                raise ResponseTooLargeError(
                    target.origin, state.limit, response.status_code
                )
            chunks.append(chunk)
            state.check_deadline(self.total_timeout, target)
        return b"".join(chunks)


@dataclasses.dataclass(frozen=True)
class _Exchange:
    """What to send next, through a chain of redirects."""

    method: str
    url: str | httpx.URL
    headers: dict[str, str]
    body: bytes | None
    timeout: httpx.Timeout
    limit: int
    started: float

    def check_deadline(self, total_timeout: float | None, target: CheckedURL) -> None:
        if (
            total_timeout is not None
            and time.monotonic() - self.started > total_timeout
        ):
            raise OutboundTimeoutError(
                f"The request to '{target.origin}' took longer than"
                f" {total_timeout} s in all.",
                target.host,
            )

    def redirected(self, target: CheckedURL, status: int, location: str) -> _Exchange:
        """The request to send after ``target`` answered ``status`` with
        ``location``."""
        try:
            url = target.url.join(location)
        except httpx.InvalidURL as exc:
            raise UnsafeURLError(
                f"'{target.origin}' redirected to an invalid URL: {exc}",
                target.host,
            ) from exc
        method, body, headers = self.method, self.body, self.headers
        if (status == 303 and method != "HEAD") or (
            status in (301, 302) and method == "POST"
        ):
            method, body = "GET", None
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if _origin(url) != _origin(target.url):
            headers = {
                k: v for k, v in headers.items() if k.lower() in _CROSS_ORIGIN_HEADERS
            }
        return dataclasses.replace(
            self, method=method, url=url, body=body, headers=headers
        )
