"""Several server processes on one database stay coherent."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import typing as t
import urllib.parse
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKERS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> t.Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _post(url: str, data: dict[str, str]) -> int:
    body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: t.Any, **kwargs: t.Any) -> None:
        return None


@pytest.fixture
def workers(shared_database_url: str) -> t.Iterator[list[str]]:
    """Start the tables, then three separate server processes."""
    env = {**os.environ, "MULTIPROC_DATABASE_URL": shared_database_url}
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from tests.multiproc_app import create_app, db\n"
            "app = create_app()\n"
            "with app.app_context(): db.create_all()",
        ],
        env=env,
        check=True,
        cwd=ROOT,
    )
    ports = [_free_port() for _ in range(WORKERS)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "tests.multiproc_app:create_app",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--without-threads",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls:
            deadline = time.monotonic() + 30
            while True:
                try:
                    _get(url + "/ping")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


def test_every_worker_follows_changes_made_through_another(workers: list[str]) -> None:
    before = [_get(url + "/ping") for url in workers]
    assert len({r["pid"] for r in before}) == WORKERS
    assert all(r["configs"] is None for r in before)

    status = _post(
        workers[0] + "/integrations/tests.ping/configs/add/",
        {"name": "everywhere", "enabled": "y"},
    )
    assert status == 302

    after = [_get(url + "/ping") for url in workers]
    assert len({r["pid"] for r in after}) == WORKERS
    assert all(r["configs"] == ["everywhere"] for r in after)

    status = _post(workers[1] + "/integrations/tests.ping/configs/1/toggle/", {})
    assert status == 302
    disabled = [_get(url + "/ping") for url in workers]
    assert all(r["configs"] is None for r in disabled)

    _post(workers[2] + "/integrations/tests.ping/configs/1/toggle/", {})
    _post(
        workers[2] + "/integrations/tests.ping/configs/1/",
        {"name": "renamed", "enabled": "y", "_version": "3"},
    )
    renamed = [_get(url + "/ping") for url in workers]
    assert all(r["configs"] == ["renamed"] for r in renamed)
