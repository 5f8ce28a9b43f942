"""The configuration form of the pager integration."""

from __future__ import annotations

import re

from flask_integrations import Fieldset, IntegrationConfigForm, OutboundURLField
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

TAG_RE = re.compile(r"[a-z0-9-]+")


class TagListField(StringField):
    """Tags typed as one comma-separated line, kept as a list."""

    def _value(self):
        return ", ".join(self.data or [])

    def process_formdata(self, valuelist):
        text = valuelist[0] if valuelist else ""
        self.data = [tag.strip().lower() for tag in text.split(",") if tag.strip()]


class PagerForm(IntegrationConfigForm):
    alert_url = OutboundURLField(
        "Alert URL",
        validators=[InputRequired()],
        description="Where the on-call service receives alerts.",
    )
    signing_secret = PasswordField(
        "Signing secret",
        validators=[InputRequired()],
        description="The on-call service checks each alert's signature with it.",
    )
    min_priority = SelectField(
        "Page for",
        choices=[
            SelectChoice("normal", "Normal, high and urgent tickets"),
            SelectChoice("high", "High and urgent tickets"),
            SelectChoice("urgent", "Urgent tickets only"),
        ],
    )
    tags = TagListField(
        "Tags",
        description="Sent with every alert, separated by commas, e.g. support, eu.",
    )

    fieldsets = [
        Fieldset(
            "On-call service",
            ("alert_url", "signing_secret"),
            "Copy both values from the on-call service's settings.",
        ),
        Fieldset("Alerts", ("min_priority", "tags")),
    ]

    def validate_tags(self, field):
        if len(field.data) > 5:
            raise ValidationError("Use at most 5 tags.")
        for tag in field.data:
            if not TAG_RE.fullmatch(tag):
                raise ValidationError(
                    f"'{tag}' is not a valid tag: use letters, digits and dashes."
                )
