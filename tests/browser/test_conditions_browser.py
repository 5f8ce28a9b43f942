"""The conditions field in a real browser: rows added and removed with and
without JavaScript, with the keyboard, under a strict content security
policy, and checked by axe-core."""

from __future__ import annotations

import pathlib
import re
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from playwright.sync_api import expect

from flask_integrations import (
    FlaskIntegrations,
)
from tests.browser.conftest import LiveServer, run_axe, screenshot, tab_to
from tests.conditions_support import TicketChat


@pytest.fixture
def server(tmp_path: pathlib.Path, browser: t.Any) -> t.Iterator[LiveServer]:
    """An app with one integration that declares a conditions field, CSRF on,
    and a ``default-src 'self'`` content security policy."""
    db = SQLAlchemy()
    integrations = FlaskIntegrations(db=db, admin_required=lambda: True)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="browser conditions",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'conditions.sqlite3'}",
    )
    db.init_app(app)
    integrations.init_app(app)

    @app.get("/favicon.ico")
    def favicon() -> tuple[str, int]:
        return "", 204

    @app.after_request
    def strict_csp(response: t.Any) -> t.Any:
        response.headers["Content-Security-Policy"] = "default-src 'self'"
        return response

    with app.app_context():
        db.create_all()
        integrations.manager.register_integration_class(TicketChat)
    with LiveServer(app) as live:
        live.db = db  # type: ignore[attr-defined]
        yield live
    with app.app_context():
        integrations.manager.shutdown()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def stored_conditions(server: t.Any) -> list[t.Any]:
    app = server.app
    with app.app_context():
        model = app.extensions["integrations"].manager.config_model
        query = sa.select(model.settings).order_by(model.id)
        return [s.get("conditions") for s in server.db.session.scalars(query)]


def watch_csp(page: t.Any) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            violations.append(msg.text)
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    return violations


def option_values(select: t.Any) -> list[str]:
    return t.cast(
        list[str],
        select.locator("option").evaluate_all("(os) => os.map((o) => o.value)"),
    )


ADD = "/integrations/tests.ticket_chat/configs/add/"


def test_rows_with_javascript(server: t.Any, page: t.Any) -> None:
    violations = watch_csp(page)
    page.goto(server.url + ADD)
    page.fill("#name", "Urgent tickets")
    page.click("text=Add a condition")
    assert page.url == server.url + ADD  # no round trip
    expect(page.locator("#conditions-0-choice")).to_be_focused()
    assert page.locator("#name").input_value() == "Urgent tickets"

    page.select_option("#conditions-0-choice", "priority")
    assert option_values(page.locator("#conditions-0-op")) == [
        "is",
        "is-not",
        "one-of",
        "none-of",
        "is-set",
        "is-unset",
    ]
    value = page.locator("#conditions-0-value")
    assert value.evaluate("(el) => el.tagName") == "SELECT"
    assert option_values(value) == ["low", "normal", "high"]
    page.select_option("#conditions-0-op", "one-of")
    assert page.locator("#conditions-0-value").evaluate("(el) => el.multiple") is True
    page.select_option("#conditions-0-value", ["normal", "high"])

    page.click("text=Add a condition")
    page.select_option("#conditions-1-choice", "title")
    page.select_option("#conditions-1-op", "is-set")
    expect(page.locator("#conditions-1-value")).to_be_hidden()
    page.select_option("#conditions-1-op", "contains")
    page.fill("#conditions-1-value", "printer")

    page.click("text=Add a condition")
    expect(page.locator("legend:has-text('Condition 3')")).to_have_count(1)
    page.click("button[data-fi-remove][value='2']")
    expect(page.locator("#conditions-2-choice")).to_have_count(0)
    expect(page.locator("#conditions-add")).to_be_focused()
    expect(page.locator("[data-fi-status]")).to_have_text("Condition removed.")

    page.click("button[data-fi-remove][value='0']")
    expect(page.locator("#conditions-1-choice")).to_be_focused()
    expect(page.locator("legend[data-fi-legend]")).to_have_text(["Condition 1"])
    page.click("text=Add a condition")
    page.select_option("#conditions-3-choice", "points")
    page.select_option("#conditions-3-op", "greater-than")
    page.fill("#conditions-3-value", "2")
    page.check("input[name='conditions-mode'][value='all']")
    assert run_axe(page) == []
    screenshot(page, "conditions")

    page.click(".fi-form-actions button")
    page.wait_for_url(re.compile(r".*/integrations/$"))
    assert stored_conditions(server) == [
        {
            "mode": "all",
            "conditions": [
                {"choice": "title", "op": "contains", "value": "printer"},
                {"choice": "points", "op": "greater-than", "value": 2},
            ],
        }
    ]
    assert violations == []
    assert page.errors == []  # type: ignore[attr-defined]


def test_rows_without_javascript(server: t.Any, browser: t.Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server.url + ADD)
        page.fill("#name", "No script")
        with page.expect_navigation():
            page.click("text=Add a condition")
        assert page.locator("#name").input_value() == "No script"
        assert page.locator("#conditions-0-choice").get_attribute("autofocus") == ""
        assert page.locator(".fi-error-summary").count() == 0
        # The operators and value field follow the choice at the next round trip.
        page.select_option("#conditions-0-choice", "priority")
        page.select_option("#conditions-0-op", "is")
        page.fill("#conditions-0-value", "high")
        with page.expect_navigation():
            page.click("text=Add a condition")
        assert option_values(page.locator("#conditions-0-op"))[:2] == ["is", "is-not"]
        assert "contains" not in option_values(page.locator("#conditions-0-op"))
        assert (
            page.locator("#conditions-0-value option[selected]").inner_text() == "High"
        )
        page.select_option("#conditions-1-choice", "title")
        page.select_option("#conditions-1-op", "matches-regex")
        page.fill("#conditions-1-value", "((")
        page.check("input[name='conditions-mode'][value='any']")
        with page.expect_navigation():
            page.click(".fi-form-actions button")
        assert "not valid" in page.locator("#conditions-1-error").inner_text()
        assert stored_conditions(server) == []

        with page.expect_navigation():
            page.click("button[data-fi-remove][value='1']")
        assert page.locator("#conditions-1-choice").count() == 0
        assert page.locator("#conditions-add").get_attribute("autofocus") == ""
        # Enter in a text box saves: it never presses a row's Remove button.
        page.focus("#name")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/integrations/$"))
        assert stored_conditions(server) == [
            {
                "mode": "any",
                "conditions": [{"choice": "priority", "op": "is", "value": "high"}],
            }
        ]
    finally:
        context.close()


def test_rows_with_the_keyboard(server: t.Any, page: t.Any) -> None:
    page.goto(server.url + ADD)
    tab_to(page, "#conditions-add")
    page.keyboard.press("Enter")
    expect(page.locator("#conditions-0-choice")).to_be_focused()
    page.keyboard.press("ArrowDown")  # Title
    expect(page.locator("#conditions-0-choice")).to_have_value("title")
    page.keyboard.press("Tab")
    expect(page.locator("#conditions-0-op")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("fire")
    page.keyboard.press("Tab")
    expect(page.locator("button[data-fi-remove][value='0']")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#conditions-add")).to_be_focused()
    expect(page.locator("[data-fi-row]")).to_have_count(0)


def test_errors_and_stale_conditions_have_no_accessibility_violations(
    server: t.Any, page: t.Any
) -> None:
    app = server.app
    with app.app_context():
        manager = app.extensions["integrations"].manager
        integration = manager.get_integration("tests.ticket_chat")
        config = integration.create_config(
            save=True,
            name="Stale",
            enabled=True,
            settings={
                "conditions": {
                    "mode": "all",
                    "conditions": [
                        {"choice": "severity", "op": "is", "value": "bad"},
                        {"choice": "title", "op": "contains", "value": "x"},
                    ],
                }
            },
        )
        config_id = config.id
    page.goto(f"{server.url}/integrations/tests.ticket_chat/configs/{config_id}/")
    assert "no longer offers" in page.locator("#conditions-0-error").inner_text()
    assert run_axe(page) == []
    page.fill("#conditions-1-value", "")
    page.click(".fi-form-actions button")
    expect(page.locator(".fi-error-summary")).to_be_visible()
    assert page.locator("#conditions-1-error").inner_text() == "Enter a value."
    assert "no condition to test" not in page.locator("main").inner_text()
    assert run_axe(page) == []
    screenshot(page, "conditions-errors")


def test_rows_fit_a_phone_screen(server: t.Any, browser: t.Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        page.goto(server.url + ADD)
        page.click("text=Add a condition")
        page.select_option("#conditions-0-choice", "priority")
        page.select_option("#conditions-0-op", "one-of")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= page.evaluate("() => window.innerWidth")
        screenshot(page, "conditions-phone")
    finally:
        context.close()
