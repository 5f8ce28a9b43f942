"""The admin pages in a real browser: mouse, keyboard, accessibility."""

from __future__ import annotations

import re
import typing as t

from playwright.sync_api import expect

from tests.browser.conftest import run_axe, screenshot, tab_to

PASSWORD = "browser-test-password"


def log_in(page: t.Any, server: t.Any) -> None:
    page.goto(server.url + "/integrations/")
    assert "/login" in page.url
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/integrations/$"))


def test_manage_configuration_with_the_mouse(
    example_server: t.Any, page: t.Any
) -> None:
    log_in(page, example_server)
    assert page.locator("h1").inner_text() == "Integrations"
    assert page.locator("th a:has-text('Welcome banner')").count() == 1

    page.click("a.fi-button:has-text('Add')")
    page.fill("#name", "Maintenance")
    page.click("button:has-text('Add')")
    expect(page.locator(".fi-error-summary")).to_be_visible()
    assert page.locator("#message-error").inner_text().strip() != ""
    assert page.locator("#name").input_value() == "Maintenance"

    page.fill("#message", "Down for maintenance at noon")
    page.select_option("#style", "warning")
    page.click("button:has-text('Add')")
    page.wait_for_url(re.compile(r".*/integrations/$"))
    assert page.locator(".fi-flash, .flash").first.inner_text().startswith("Added")
    assert page.locator("th:has-text('Maintenance')").count() == 1

    page.goto(example_server.url + "/")
    assert (
        page.locator(".banner-warning").inner_text() == "Down for maintenance at noon"
    )

    page.goto(example_server.url + "/integrations/")
    page.click("a:has-text('Maintenance')")
    page.fill("#message", "Back soon")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r".*/integrations/$"))
    page.goto(example_server.url + "/")
    assert page.locator(".banner-warning").inner_text() == "Back soon"

    page.goto(example_server.url + "/integrations/")
    row = page.locator("tr", has=page.locator("th:has-text('Maintenance')"))
    with page.expect_navigation():
        row.locator("button:has-text('Disable')").click()
    row = page.locator("tr", has=page.locator("th:has-text('Maintenance')"))
    expect(row.locator(".fi-badge")).to_have_text("Disabled")
    page.goto(example_server.url + "/")
    assert page.locator(".banner-warning").count() == 0

    page.goto(example_server.url + "/integrations/")
    row = page.locator("tr", has=page.locator("th:has-text('Maintenance')"))
    row.locator("a:has-text('Delete')").click()
    expect(page.locator("h1")).to_contain_text("Delete")
    page.click("button:has-text('Delete')")
    page.wait_for_url(re.compile(r".*/integrations/$"))
    assert page.locator("th:has-text('Maintenance')").count() == 0
    assert page.errors == []  # type: ignore[attr-defined]


def test_manage_configuration_with_the_keyboard(
    example_server: t.Any, page: t.Any
) -> None:
    log_in(page, example_server)

    tab_to(page, "a.fi-button[href$='/configs/add/']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/configs/add/$"))
    tab_to(page, "#name")
    page.keyboard.type("Keyboard banner")
    tab_to(page, "#message")
    page.keyboard.type("Typed without a mouse")
    tab_to(page, "form.fi-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/integrations/$"))
    assert page.locator("th:has-text('Keyboard banner')").count() == 1

    row = "tr:has(th:has-text('Keyboard banner'))"
    tab_to(page, f"{row} button:has-text('Disable')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(f"{row} .fi-badge")).to_have_text("Disabled")

    tab_to(page, f"{row} a:has-text('Delete')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/delete/$"))
    tab_to(page, "main button.fi-button-danger")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/integrations/$"))
    assert page.locator("th:has-text('Keyboard banner')").count() == 0


def test_focus_is_visible(example_server: t.Any, page: t.Any) -> None:
    log_in(page, example_server)
    tab_to(page, "a.fi-button[href$='/configs/add/']")
    outline = page.evaluate(
        "() => getComputedStyle(document.activeElement).outlineStyle"
    )
    assert outline not in ("", "none")


def test_pages_have_no_serious_accessibility_violations(
    example_server: t.Any, page: t.Any
) -> None:
    log_in(page, example_server)
    assert run_axe(page) == []
    screenshot(page, "list")

    page.click("a:has-text('Welcome banner')")
    assert run_axe(page) == []
    screenshot(page, "config")

    page.goto(example_server.url + "/integrations/example.announcements/configs/add/")
    page.click("button:has-text('Add')")
    assert run_axe(page) == []
    screenshot(page, "config-errors")

    page.goto(example_server.url + "/integrations/")
    page.click("a.fi-button-danger:has-text('Delete')")
    assert run_axe(page) == []
    screenshot(page, "delete")


def test_dark_colour_scheme(example_server: t.Any, browser: t.Any) -> None:
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    try:
        log_in(page, example_server)
        background = page.evaluate(
            "() => getComputedStyle(document.querySelector('.fi-integration'))"
            ".backgroundColor"
        )
        assert background == "rgb(28, 32, 40)"
        screenshot(page, "list-dark")
    finally:
        context.close()


def test_pages_work_under_a_strict_content_security_policy(
    example_server: t.Any, page: t.Any
) -> None:
    app = example_server.app

    @app.after_request
    def strict_csp(response: t.Any) -> t.Any:
        response.headers["Content-Security-Policy"] = "default-src 'self'"
        return response

    violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            violations.append(msg.text)
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    log_in(page, example_server)
    page.click("a:has-text('Welcome banner')")
    page.goto(
        example_server.url + "/integrations/example.announcements/configs/1/delete/"
    )
    assert violations == []
    css = page.evaluate(
        "() => getComputedStyle(document.querySelector('.fi-button')).borderRadius"
    )
    assert css == "8px"
