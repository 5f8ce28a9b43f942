"""Browser fixtures: the example app served on 127.0.0.1 and a headless
Chromium driven by Playwright.

They run when ``INTEGRATIONS_TEST_BROWSER=1`` (``.ci/run`` sets it) and skip
otherwise. Chromium comes from Debian (``/usr/bin/chromium``); axe-core from
the npm registry (``make browser-deps``).
"""

from __future__ import annotations

import os
import pathlib
import threading
import typing as t

import pytest
from werkzeug.serving import make_server

from tests.conftest import BROWSER, skip_unless_available

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("INTEGRATIONS_TEST_CHROMIUM", "/usr/bin/chromium")
AXE_PATH = pathlib.Path(
    os.environ.get(
        "INTEGRATIONS_TEST_AXE",
        ROOT / "build" / "node" / "node_modules" / "axe-core" / "axe.min.js",
    )
)
SCREENSHOTS = ROOT / "build" / "screenshots"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> t.Iterator[t.Any]:
    if not BROWSER:
        skip_unless_available(
            "INTEGRATIONS_TEST_BROWSER is not 1, so browser tests are skipped"
            " (they need Debian's chromium and the playwright package)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class LiveServer:
    """An app served by werkzeug in a thread."""

    def __init__(self, app: t.Any) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def example_server(tmp_path: pathlib.Path, browser: t.Any) -> t.Iterator[LiveServer]:
    """The example app on a fresh SQLite file, CSRF on, with its admin user and
    seed data; the seeded webhooks post to this server's own inbox."""
    from example_app import create_app
    from example_app.commands import init_example
    from example_app.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'browser.sqlite3'}",
            "EXAMPLE_ADMIN_PASSWORD": "browser-test-password",
        }
    )
    app.instance_path = str(tmp_path)
    server = LiveServer(app)
    try:
        with app.app_context():
            init_example(base_url=server.url)
    except BaseException:
        server.server.server_close()
        raise
    with server:
        yield server
    # Disconnect the hooks from the app's signals before the next test's app
    # sends them.
    app.extensions["integrations"].manager.shutdown()
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def page(browser: t.Any) -> t.Iterator[t.Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" else None,
    )
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def screenshot(page: t.Any, name: str, full_page: bool = True) -> pathlib.Path:
    """Save a screenshot (of the whole page, or of what the window shows) to
    build/screenshots/<name>.png."""
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path


def run_axe(page: t.Any) -> list[dict[str, t.Any]]:
    """Run axe-core on the page; return serious and critical violations."""
    if not AXE_PATH.exists():
        pytest.fail(f"axe-core is missing at {AXE_PATH}: run 'make browser-deps'.")
    page.evaluate(AXE_PATH.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [n["target"] for n in v["nodes"]],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def tab_to(page: t.Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` (a Playwright
    selector) has the focus."""
    target = page.locator(selector).first
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("(el) => el === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {selector!r}")
