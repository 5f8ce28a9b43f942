"""Layout, at a phone's width (390 px) and a desktop's: no page scrolls
sideways, the list's tables share one grid, flash messages line up with the
page, the example's banner follows the dark colour scheme.

Every page checked is saved at both widths in ``build/screenshots/layout/``
(``make screenshots`` copies only ``build/screenshots/*.png`` to the docs).
"""

from __future__ import annotations

import pathlib
import re
import typing as t

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from playwright.sync_api import expect

from flask_integrations import FlaskIntegrations
from tests.browser.conftest import LiveServer, run_axe, screenshot
from tests.browser.test_example_browser import log_in
from tests.conftest import SimpleIntegration

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}
#: A name with no space to break at.
LONG_NAME = "Maintenance-notice-for-every-office-and-every-support-team"

#: The elements that stick out of the window, innermost first.
STICKING_OUT = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
  .filter((el) => ![...el.children].some(
    (child) => child.getBoundingClientRect().right > innerWidth + 0.5))
  .slice(0, 5)
  .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : "")
    + " " + Math.round(el.getBoundingClientRect().right) + "px")"""


def assert_fits(page: t.Any, name: str) -> None:
    """Nothing on ``page`` scrolls sideways; save its screenshot as ``name``."""
    screenshot(page, f"layout/{name}")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    window = page.evaluate("() => innerWidth")
    if width > window:
        raise AssertionError(
            f"{name} is {width}px wide in a {window}px window: "
            + ", ".join(page.evaluate(STICKING_OUT))
        )


def read_as_html(page: t.Any, url_pattern: str) -> None:
    """Show responses to ``url_pattern`` as HTML even if they come as
    ``text/plain``, as some error pages of the package still do: their
    layout is checked all the same."""

    def handle(route: t.Any) -> None:
        response = route.fetch()
        headers = dict(response.headers)
        if headers.get("content-type", "").startswith("text/plain"):
            headers["content-type"] = "text/html; charset=utf-8"
        route.fulfill(response=response, headers=headers)

    page.route(url_pattern, handle)


def open_page(browser: t.Any, viewport: dict[str, int], **options: t.Any) -> t.Any:
    return browser.new_context(viewport=viewport, **options).new_page()


def check_both(
    pages: dict[str, t.Any], name: str, visit: t.Callable[[t.Any], t.Any]
) -> None:
    """Open a page with ``visit(page)`` at each width and check it fits."""
    for width, page in pages.items():
        visit(page)
        assert_fits(page, f"{name}-{width}")


def goto(server: t.Any, path: str) -> t.Callable[[t.Any], t.Any]:
    return lambda page: page.goto(server.url + path)


def test_admin_pages_fit_a_phone(example_server: t.Any, browser: t.Any) -> None:
    pages = {"phone": open_page(browser, PHONE), "desktop": open_page(browser, DESKTOP)}
    try:
        _admin_tour(example_server, pages)
    finally:
        for page in pages.values():
            page.context.close()


def _admin_tour(server: t.Any, pages: dict[str, t.Any]) -> None:
    for page in pages.values():
        log_in(page, server)
    setup = pages["desktop"]
    setup.goto(server.url + "/integrations/example.announcements/configs/add/")
    setup.fill("#name", LONG_NAME)
    setup.fill("#message", "The offices close at noon on Friday.")
    with setup.expect_navigation():
        setup.click("form.fi-form button[type=submit]")
    setup.goto(server.url + "/integrations/example.webhook/configs/2/")
    with setup.expect_navigation():
        setup.click("button:has-text('Send test')")
    expect(setup.locator(".fi-test-result")).to_be_visible()

    check_both(pages, "list", goto(server, "/integrations/"))
    screenshot(pages["phone"], "list-phone", full_page=False)  # for the docs
    check_both(pages, "list-filtered", goto(server, "/integrations/?q=notice"))
    announcements = "/integrations/example.announcements/configs"
    check_both(pages, "add", goto(server, f"{announcements}/add/"))

    def add_with_errors(page: t.Any) -> None:
        page.goto(server.url + f"{announcements}/add/")
        with page.expect_navigation():
            page.click("form.fi-form button[type=submit]")
        expect(page.locator(".fi-error-summary")).to_be_visible()

    check_both(pages, "add-errors", add_with_errors)
    check_both(pages, "edit", goto(server, f"{announcements}/1/"))
    webhook = "/integrations/example.webhook/configs/2/"
    for page in pages.values():
        page.goto(server.url + webhook)
        expect(page.locator(".fi-deliveries tbody tr")).not_to_have_count(0)
        expect(page.locator(".fi-history tbody tr")).not_to_have_count(0)
    check_both(pages, "edit-deliveries-history", goto(server, webhook))

    def send_test(page: t.Any) -> None:
        page.goto(server.url + webhook)
        with page.expect_navigation():
            page.click("button:has-text('Send test')")

    check_both(pages, "send-test", send_test)
    check_both(
        pages,
        "edit-custom",
        goto(server, "/integrations/example.chat_commands/configs/4/"),
    )

    def delete_long_name(page: t.Any) -> None:
        page.goto(server.url + "/integrations/")
        row = page.locator("tr", has=page.locator(f"th:has-text('{LONG_NAME}')"))
        row.locator("a:has-text('Delete')").click()
        expect(page.locator("h1")).to_contain_text(LONG_NAME)

    check_both(pages, "delete", delete_long_name)
    for page in pages.values():
        read_as_html(page, "**/configs/9999/")
    check_both(pages, "not-found", goto(server, f"{announcements}/9999/"))
    for page in pages.values():
        expect(page.locator("h1")).to_have_text("Configuration not found")


@pytest.fixture
def standalone_server(tmp_path: pathlib.Path, browser: t.Any) -> t.Iterator[LiveServer]:
    """An app with the admin pages in the package's own layout; its admin
    check is ``INTEGRATIONS_ADMIN_CHECK``, changed by the test."""
    db = SQLAlchemy()
    integrations = FlaskIntegrations(db=db)
    integrations.register(SimpleIntegration)
    app = Flask("standalone")
    app.config.update(
        SECRET_KEY="browser test",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'standalone.sqlite3'}",
        INTEGRATIONS_ADMIN_CHECK=lambda: True,
    )
    db.init_app(app)
    integrations.init_app(app)
    with app.app_context():
        db.create_all()
        integration = integrations.manager.get_integration("tests.simple")
        for name in ("Blue", LONG_NAME):
            integration.create_config(name=name, enabled=True, save=True)
    with LiveServer(app) as server:
        yield server
    app.extensions["integrations"].manager.shutdown()
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def test_standalone_pages_fit_a_phone(standalone_server: t.Any, browser: t.Any) -> None:
    server = standalone_server
    pages = {"phone": open_page(browser, PHONE), "desktop": open_page(browser, DESKTOP)}
    try:
        for page in pages.values():
            read_as_html(page, "**/integrations/**")
        check_both(pages, "standalone-list", goto(server, "/integrations/"))
        check_both(
            pages,
            "standalone-edit",
            goto(server, "/integrations/tests.simple/configs/2/"),
        )

        def toggle(page: t.Any) -> None:
            page.goto(server.url + "/integrations/")
            with page.expect_navigation():
                page.locator("td.fi-actions button").first.click()
            expect(page.locator(".fi-flash")).to_be_visible()
            assert left_and_right(page, ".fi-flash") == left_and_right(page, ".fi-page")

        check_both(pages, "standalone-flash", toggle)
        server.app.config["INTEGRATIONS_ADMIN_CHECK"] = None
        check_both(pages, "access-denied-unset", goto(server, "/integrations/"))
        server.app.config["INTEGRATIONS_ADMIN_CHECK"] = lambda: False
        check_both(pages, "access-denied", goto(server, "/integrations/"))
        expect(pages["phone"].locator("h1")).to_have_text("Access denied")
    finally:
        for page in pages.values():
            page.context.close()


def test_example_pages_fit_a_phone(example_server: t.Any, browser: t.Any) -> None:
    server = example_server
    pages = {"phone": open_page(browser, PHONE), "desktop": open_page(browser, DESKTOP)}
    try:
        check_both(pages, "example-login", goto(server, "/login"))
        for page in pages.values():
            log_in(page, server)
        setup = pages["desktop"]
        setup.goto(server.url + "/tickets/new")
        setup.fill("#title", "Every-printer-on-the-second-floor-prints-blank-pages")
        with setup.expect_navigation():
            setup.click("button:has-text('Open ticket')")
        check_both(pages, "example-home", goto(server, "/"))
        check_both(pages, "example-ticket", goto(server, "/tickets/4"))
        check_both(pages, "example-new-ticket", goto(server, "/tickets/new"))

        def inbox(page: t.Any) -> None:
            for _ in range(50):  # deliveries run in the app's worker threads
                page.goto(server.url + "/inbox/")
                if page.locator("article.received").count() >= 2:
                    break
                page.wait_for_timeout(200)
            for summary in page.locator("article.received summary").all():
                summary.click()

        check_both(pages, "example-inbox", inbox)
        assert pages["phone"].locator("article.received").count() >= 2
    finally:
        for page in pages.values():
            page.context.close()


def left_and_right(page: t.Any, selector: str) -> tuple[int, int]:
    box = page.locator(selector).first.bounding_box()
    return round(box["x"]), round(box["x"] + box["width"])


def lefts(page: t.Any, selector: str) -> set[int]:
    """The distinct left edges of the elements matching ``selector``."""
    return {round(el.bounding_box()["x"]) for el in page.locator(selector).all()}


def test_configuration_tables_share_one_grid(
    example_server: t.Any, browser: t.Any
) -> None:
    page = open_page(browser, DESKTOP)
    try:
        log_in(page, example_server)
        page.goto(example_server.url + "/integrations/")
        row = page.locator("tr", has=page.locator("th:has-text('Team chat')"))
        with page.expect_navigation():
            row.locator("button:has-text('Disable')").click()
        expect(page.locator(".flash")).to_have_text("Disabled “Team chat”.")
        screenshot(page, "layout/grid-desktop")

        # The host's flash message and the page share their edges.
        assert left_and_right(page, ".flash") == left_and_right(page, ".fi-page")
        tables = page.locator("table.fi-configs")
        assert tables.count() == 4
        for column in (1, 2, 3, 4):
            assert (
                len(lefts(page, f"table.fi-configs thead th:nth-child({column})")) == 1
            )
        # Edit, Disable or Enable, Delete: each at one place in every row.
        for button in (1, 2, 3):
            assert len(lefts(page, f"td.fi-actions > :nth-child({button})")) == 1
    finally:
        page.context.close()


def luminance(css_colour: str) -> float:
    """The relative luminance (WCAG) of an ``rgb(...)`` colour."""
    red, green, blue = (int(n) / 255 for n in re.findall(r"\d+", css_colour)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_banner_follows_the_colour_scheme(
    example_server: t.Any, browser: t.Any, scheme: str
) -> None:
    page = open_page(browser, DESKTOP, color_scheme=scheme)
    try:
        page.goto(example_server.url + "/")
        banner = page.locator(".banner-info")
        expect(banner).to_be_visible()
        colours = banner.evaluate(
            "(el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color,"
            " getComputedStyle(document.body).backgroundColor]"
        )
        background, text, body = map(luminance, colours)
        # The banner is light on a light page, dark on a dark one.
        assert (background > 0.5) == (body > 0.5) == (scheme == "light")
        assert (text > 0.5) == (scheme == "dark")
        assert run_axe(page) == []
        screenshot(page, f"layout/banner-{scheme}")
    finally:
        page.context.close()
