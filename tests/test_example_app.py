"""The example app starts from nothing the way `make run` starts it."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_make_run_steps_in_a_fresh_directory(tmp_path: pathlib.Path) -> None:
    env = {
        **os.environ,
        "EXAMPLE_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("FLASK_APP", None)
    flask = [sys.executable, "-m", "flask", "--app", "example_app"]
    init = subprocess.run(
        [*flask, "init-example"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Admin login: admin / " in init.stdout
    password = init.stdout.split("Admin login: admin / ")[1].split()[0]
    assert (
        tmp_path / "instance" / "admin-password.txt"
    ).read_text().strip() == password

    port = _free_port()
    server = subprocess.Popen(
        [*flask, "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
                    assert response.status == 200
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert "Announcements" in body
        assert "Welcome! Integrations are managed" in body
    finally:
        server.terminate()
        server.wait(10)
