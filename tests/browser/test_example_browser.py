"""The example app's two-minute tour in a real browser: a webhook to the
inbox, a ticket, the signed delivery, then silence once it is disabled."""

from __future__ import annotations

import re
import typing as t

from playwright.sync_api import expect

from flask_integrations.dispatch import get_dispatcher
from flask_integrations.signing import generate_secret
from tests.browser.conftest import run_axe, screenshot

PASSWORD = "browser-test-password"


def log_in(page: t.Any, server: t.Any) -> None:
    page.goto(server.url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def received_in(page: t.Any, inbox: str) -> t.Any:
    """The inbox page's entries for ``inbox``."""
    return page.locator(
        "article.received", has=page.locator(f"h3 code:text-is('{inbox}')")
    )


def inbox_problems(app: t.Any, inbox: str) -> list[str | None]:
    """Why each request ``inbox`` received is not verified (``None``: it is)."""
    from example_app.extensions import db
    from example_app.models import InboxRequest

    with app.app_context():
        query = db.select(InboxRequest.problem).filter_by(inbox=inbox)
        return list(db.session.execute(query.order_by(InboxRequest.id)).scalars())


def wait_for_entries(page: t.Any, server: t.Any, inbox: str, count: int) -> t.Any:
    """Reload the inbox page until ``inbox`` shows ``count`` requests
    (deliveries run in the app's worker threads)."""
    for _ in range(50):
        page.goto(server.url + "/inbox/")
        entries = received_in(page, inbox)
        if entries.count() >= count:
            return entries
        page.wait_for_timeout(200)
    raise AssertionError(f"The inbox {inbox!r} never showed {count} requests.")


def test_webhook_to_the_inbox(example_server: t.Any, page: t.Any) -> None:
    app = example_server.app
    csp_violations: list[str] = []

    @app.after_request
    def strict_csp(response: t.Any) -> t.Any:
        response.headers["Content-Security-Policy"] = "default-src 'self'"
        return response

    page.on(
        "console",
        lambda msg: (
            csp_violations.append(msg.text)
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    try:
        _tour(example_server, page)
    finally:
        # Let the deliveries still running end before the server stops.
        get_dispatcher(app).shutdown()
    assert csp_violations == []
    assert page.errors == []  # type: ignore[attr-defined]


def _tour(server: t.Any, page: t.Any) -> None:
    secret = generate_secret()
    log_in(page, server)

    # The inbox 'tour' will expect this secret.
    page.click("nav >> text=Inbox")
    expect(page.locator("h1")).to_have_text("Webhook inbox")
    page.fill("#inbox", "tour")
    page.fill("#secret", secret)
    with page.expect_navigation():
        page.click("button:has-text('Save secret')")
    expect(page.locator(".flash")).to_have_text("Saved the secret of the inbox 'tour'.")

    # The seeded webhook points at this app's inbox; send it to 'tour'.
    page.click("nav >> text=Integrations")
    page.click("a:has-text('Inbox demo')")
    expect(page.locator("#payload_url")).to_have_value(server.url + "/inbox/demo")
    page.fill("#payload_url", server.url + "/inbox/tour")
    page.fill("#secret", secret)
    with page.expect_navigation():
        page.click("form.fi-form button:has-text('Save')")
    assert page.locator("th:has-text('Inbox demo')").count() == 1

    # A ticket, with a comment; then it is closed.
    page.click("nav >> text=New ticket")
    page.fill("#title", "The coffee machine leaks")
    page.fill("#body", "A puddle under it every morning.")
    with page.expect_navigation():
        page.click("button:has-text('Open ticket')")
    page.wait_for_url(re.compile(r".*/tickets/4$"))
    expect(page.locator("h1")).to_contain_text("The coffee machine leaks")
    page.fill("#body", "Maintenance is on the way.")
    with page.expect_navigation():
        page.click("button:has-text('Add comment')")
    expect(page.locator(".comment-body")).to_have_text("Maintenance is on the way.")
    expect(page.locator(".chat-aside")).to_contain_text("/ticket what is wrong")
    assert run_axe(page) == []
    screenshot(page, "example-ticket")
    with page.expect_navigation():
        page.click("button:has-text('Close ticket')")
    expect(page.locator(".ticket-header .badge")).to_have_text("Closed")

    # The signed deliveries, verified by the inbox.
    entries = wait_for_entries(page, server, "tour", 3)
    expect(entries.locator("h3 code:first-child")).to_have_text(
        ["ticket.closed", "comment.added", "ticket.created"]
    )
    assert inbox_problems(server.app, "tour") == [None, None, None]
    expect(entries.locator(".badge")).to_have_text(["Verified ✓"] * 3)
    expect(entries.nth(2).locator("pre")).to_contain_text("The coffee machine leaks")
    # The chat integration's unsigned messages land in their own inbox.
    slack = wait_for_entries(page, server, "slack", 3)
    expect(slack.nth(0).locator(".badge")).to_have_text("Not verified")
    entries.nth(0).locator("summary").click()
    expect(entries.nth(0).locator("dt:text-is('Webhook-Signature')")).to_be_visible()
    assert run_axe(page) == []
    screenshot(page, "example-inbox")

    # Disabled, the webhook sends nothing more (the chat one still does).
    page.click("nav >> text=Integrations")
    row = page.locator("tr", has=page.locator("th:has-text('Inbox demo')"))
    with page.expect_navigation():
        row.locator("button:has-text('Disable')").click()
    row = page.locator("tr", has=page.locator("th:has-text('Inbox demo')"))
    expect(row.locator(".fi-badge")).to_have_text("Disabled")
    page.click("nav >> text=New ticket")
    page.fill("#title", "Nobody hears this one")
    with page.expect_navigation():
        page.click("button:has-text('Open ticket')")
    get_dispatcher(server.app).join()  # Every delivery queued has run.
    page.goto(server.url + "/inbox/")
    assert received_in(page, "slack").count() == 4
    assert received_in(page, "tour").count() == 3

    page.goto(server.url + "/")
    expect(page.locator("table.tickets tbody tr")).to_have_count(5)
    expect(page.locator(".filters")).to_contain_text("Closed (2)")
    assert run_axe(page) == []
    screenshot(page, "example-tickets")


def test_chat_commands_configuration_page(example_server: t.Any, page: t.Any) -> None:
    log_in(page, example_server)
    page.goto(example_server.url + "/integrations/")
    page.click("a:has-text('Team chat')")
    expect(page.locator("#chat-setup-title")).to_be_visible()
    expect(page.locator(".chat-url").first).to_have_text(
        example_server.url + "/integrations/example.chat_commands/command"
    )
    page.fill("#command", "ticket")
    with page.expect_navigation():
        page.click("form.fi-form button:has-text('Save')")
    expect(page.locator("#command-error")).to_contain_text("Start with '/'")
    assert run_axe(page) == []
    screenshot(page, "example-chat-commands")


def test_pages_in_the_dark_colour_scheme(example_server: t.Any, browser: t.Any) -> None:
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    try:
        log_in(page, example_server)
        for path in ("/", "/tickets/2", "/tickets/new", "/inbox/"):
            page.goto(example_server.url + path)
            assert run_axe(page) == [], path
        page.goto(example_server.url + "/tickets/2")
        screenshot(page, "example-ticket-dark")
    finally:
        context.close()
