"""The example app's forms (Flask-WTF, so each carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Regexp

#: What an inbox name may be made of (it is a part of a URL).
INBOX_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField(
        "Username", validators=[InputRequired()], render_kw={"autocomplete": "username"}
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired()],
        render_kw={"autocomplete": "current-password"},
    )


class TicketForm(FlaskForm):  # type: ignore[misc]
    title = StringField("Title", validators=[InputRequired(), Length(max=200)])
    body = TextAreaField(
        "Description", validators=[Length(max=5000)], render_kw={"rows": 6}
    )


class CommentForm(FlaskForm):  # type: ignore[misc]
    body = TextAreaField(
        "Comment",
        validators=[InputRequired(), Length(max=5000)],
        render_kw={"rows": 4},
    )


class CloseTicketForm(FlaskForm):  # type: ignore[misc]
    """Only the CSRF token: closing needs no input."""


class InboxSecretForm(FlaskForm):  # type: ignore[misc]
    inbox = StringField(
        "Inbox name",
        validators=[
            InputRequired(),
            Regexp(
                INBOX_NAME_PATTERN,
                message="Use up to 64 letters, digits, '-' or '_'.",
            ),
        ],
        description="The last part of the inbox URL, e.g. 'demo'.",
    )
    secret = PasswordField(
        "Signing secret",
        validators=[Length(max=255)],
        description="The secret of the webhook configuration that posts here"
        " (whsec_…). Leave blank to stop checking signatures.",
    )
