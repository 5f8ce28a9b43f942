"""Tests of the pager integration, with the flask-integrations test kit."""

import html

import pytest
from flask import render_template_string
from flask_integrations.signing import generate_secret
from flask_integrations.testing import find_form

from helpdesk import Ticket, ticket_opened
from pager import PagerIntegration

ADD_PAGE = "/integrations/tutorial.pager/configs/add/"
SECRET = generate_secret()


@pytest.fixture
def integrations_classes():
    return [PagerIntegration]


@pytest.fixture
def pager(integrations_manager):
    return integrations_manager.get_integration("tutorial.pager")


def add_pager(pager, alert_url, name="Ops", **settings):
    """Store an enabled configuration, as the admin page would."""
    settings = {"alert_url": alert_url, "signing_secret": SECRET, **settings}
    return pager.create_config(name=name, enabled=True, settings=settings, save=True)


def test_the_add_page_starts_from_the_defaults(integrations_admin_client):
    page = integrations_admin_client.get(ADD_PAGE)

    form = find_form(page.get_data(as_text=True))
    assert form.values["min_priority"] == "urgent"
    assert form.values["tags"] == "support"


def test_an_admin_adds_a_pager(integrations_admin_client, pager, integrations_receiver):
    response = integrations_admin_client.submit_form(
        ADD_PAGE,
        {
            "name": "Ops",
            "alert_url": integrations_receiver.url,
            "signing_secret": SECRET,
            "min_priority": "high",
            "tags": "Support, EU",
        },
    )

    assert response.status_code == 302
    [config] = pager.get_configs()
    assert config.get("min_priority") == "high"
    assert config.get("tags") == ["support", "eu"]
    assert pager.enabled


def test_bad_tags_are_refused(integrations_admin_client, pager, integrations_receiver):
    response = integrations_admin_client.submit_form(
        ADD_PAGE,
        {
            "name": "Ops",
            "alert_url": integrations_receiver.url,
            "signing_secret": SECRET,
            "tags": "support, night shift",
        },
    )

    assert response.status_code == 200
    assert "'night shift' is not a valid tag" in html.unescape(response.text)
    assert pager.get_configs() == []


def test_an_urgent_ticket_pages_with_a_signed_alert(pager, integrations_receiver):
    add_pager(pager, integrations_receiver.url + "alerts")

    ticket_opened.send("helpdesk", ticket=Ticket(7, "Site down", "urgent"))

    [alert] = integrations_receiver.wait_for(1)
    assert alert.path == "/alerts"
    alert.verify(SECRET)
    assert alert.json == {
        "event": "ticket.opened",
        "tags": ["support"],
        "ticket": 7,
        "title": "Site down",
        "priority": "urgent",
    }


def test_each_pager_gets_the_priorities_it_asked_for(pager, integrations_outbox):
    add_pager(pager, "https://oncall.example/a", name="Day", min_priority="high")
    add_pager(pager, "https://oncall.example/b", name="Night")

    ticket_opened.send("helpdesk", ticket=Ticket(8, "Slow search", "high"))
    ticket_opened.send("helpdesk", ticket=Ticket(9, "Typo", "low"))

    assert [(d.config_name, d.payload["ticket"]) for d in integrations_outbox] == [
        ("Day", 8)
    ]


def test_a_failed_alert_is_retried(pager, integrations_receiver):
    add_pager(pager, integrations_receiver.url)
    integrations_receiver.reply(503, times=1)

    ticket_opened.send("helpdesk", ticket=Ticket(10, "Disk full", "urgent"))

    first, retry = integrations_receiver.wait_for(2)
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]


def test_the_ticket_sidebar_names_the_pagers(pager):
    add_pager(pager, "https://oncall.example/", name="Ops")

    sidebar = render_template_string(
        "{{ integration_hooks('ticket-sidebar') }}",
        ticket=Ticket(11, "Site down", "urgent"),
    )

    assert "Urgent tickets page: Ops." in sidebar


def test_the_icon_is_shown_and_served(integrations_admin_client, pager):
    icon_url = "/integrations/tutorial.pager/static/pager.svg"

    listing = integrations_admin_client.get("/integrations/")
    icon = integrations_admin_client.get(icon_url)

    assert icon_url in listing.get_data(as_text=True)
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    icon.close()  # The response holds the file open.
