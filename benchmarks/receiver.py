"""A fast local webhook receiver, run in its own process by figure 5.

``python -m benchmarks.receiver`` listens on 127.0.0.1 (a free port, printed
as the first line of its output) and speaks just enough HTTP/1.1, with
keep-alive: every ``POST`` is counted and answered ``200``. Control requests
(``GET``) are not counted:

``/count``
    The number of POSTs so far.
``/reset``
    Set the count to 0.
``/wait?n=N&timeout=S``
    Answer once N POSTs have been counted (``200``), or after S seconds
    (``504``), with the count as the body.

It stops when its standard input closes.
"""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import parse_qs, urlsplit


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.changed = asyncio.Condition()

    async def add(self) -> None:
        self.count += 1
        async with self.changed:
            self.changed.notify_all()

    async def wait(self, target: int, timeout: float) -> bool:
        async with self.changed:
            try:
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: self.count >= target), timeout
                )
            except asyncio.TimeoutError:
                return False
        return True


def _response(status: str, body: bytes, close: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _control(counter: Counter, target: str) -> tuple[str, bytes]:
    url = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    if url.path == "/reset":
        counter.count = 0
    elif url.path == "/wait":
        if not await counter.wait(int(query["n"]), float(query.get("timeout", 60))):
            return "504 Gateway Timeout", str(counter.count).encode()
    elif url.path != "/count":
        return "404 Not Found", b"unknown"
    return "200 OK", str(counter.count).encode()


async def _serve(
    counter: Counter, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if length:
                await reader.readexactly(length)
            close = (
                headers.get("connection", "").lower() == "close"
                or version == "HTTP/1.0"
            )
            if method == "POST":
                await counter.add()
                status, body = "200 OK", b"ok"
            else:
                status, body = await _control(counter, target)
            writer.write(_response(status, body, close))
            await writer.drain()
            if close:
                return
    finally:
        writer.close()


async def _main() -> None:
    counter = Counter()
    server = await asyncio.start_server(
        lambda r, w: _serve(counter, r, w), "127.0.0.1", 0, backlog=1024
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    # Stop when the parent closes our standard input (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(_main())
