"""An integration written in the app itself: announcement banners.

Each configuration is one banner; every enabled one shows at the top of the
app's pages through a template hook.
"""

from __future__ import annotations

from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length

from flask_integrations import Integration, IntegrationConfigForm, TemplateHook


class AnnouncementForm(IntegrationConfigForm):
    message = StringField(
        "Message",
        validators=[InputRequired(), Length(max=200)],
        description="Shown at the top of every page while enabled.",
    )
    style = SelectField(
        "Style",
        choices=["info", "warning"],
    )

    fieldsets = [
        ("Banner", ("message", "style"), "What the banner says and how it looks."),
    ]


class AnnouncementIntegration(Integration):
    integration_id = "example.announcements"
    name = "Announcements"
    description = "Show a banner at the top of every page."
    icon_static_urls = {"1x": "icon.svg"}
    default_settings = {"style": "info"}
    config_form_cls = AnnouncementForm

    def initialize(self) -> None:
        TemplateHook(self, "page_top", "announcements/banner.html")
