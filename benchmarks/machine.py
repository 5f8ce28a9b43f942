"""The details of the machine and checkout a results file records."""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import platform
import sqlite3
import subprocess
import typing as t

import sqlalchemy as sa

import flask_integrations

from .apps import ROOT

PACKAGES = (
    "flask",
    "werkzeug",
    "jinja2",
    "sqlalchemy",
    "flask-sqlalchemy",
    "flask-wtf",
    "wtforms",
    "blinker",
    "httpx",
    "psycopg",
)


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _from_checkout() -> bool:
    """Whether ``flask_integrations`` is imported from this checkout (not
    from another installed copy)."""
    package = pathlib.Path(flask_integrations.__file__).resolve().parent
    return package == ROOT / "flask_integrations"


def postgresql_version(url: str | None) -> str | None:
    """The server version of the PostgreSQL database at ``url``."""
    if not url:
        return None
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return str(connection.exec_driver_sql("SHOW server_version").scalar())
    finally:
        engine.dispose()


def details(postgresql_url: str | None) -> dict[str, t.Any]:
    """CPU, OS, Python, databases, package versions and the git commit."""
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "os": platform.platform(terse=True),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgresql_version(postgresql_url),
        "packages": {name: _version(name) for name in PACKAGES},
        "package_from_checkout": _from_checkout(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_short": _git("rev-parse", "--short", "HEAD"),
        "git_branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "git_dirty": bool(dirty),
    }
