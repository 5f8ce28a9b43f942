"""The example app's own tables: users, tickets and comments, and the
requests the webhook inbox received."""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db, login_manager


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, also on SQLite (which forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: t.Any) -> t.Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: t.Any, dialect: t.Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return t.cast("datetime | None", value)


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "example_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(db.String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(db.String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


class Ticket(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "example_ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(db.String(200))
    body: Mapped[str] = mapped_column(db.Text, default="")
    #: ``"open"`` or ``"closed"``.
    status: Mapped[str] = mapped_column(db.String(10), default="open", index=True)
    #: Who opened it: a user name of this app, or of the chat it came from.
    author: Mapped[str] = mapped_column(db.String(80))
    #: Where it was opened: ``"web"`` or ``"chat"``.
    source: Mapped[str] = mapped_column(db.String(10), default="web")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comments: Mapped[list[Comment]] = relationship(
        back_populates="ticket", order_by="Comment.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class Comment(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "example_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(db.ForeignKey(Ticket.id), index=True)
    author: Mapped[str] = mapped_column(db.String(80))
    body: Mapped[str] = mapped_column(db.Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ticket: Mapped[Ticket] = relationship(back_populates="comments")


class Inbox(db.Model):  # type: ignore[name-defined,misc]
    """A named inbox and the signing secret it checks requests against."""

    __tablename__ = "example_inbox"

    name: Mapped[str] = mapped_column(db.String(64), primary_key=True)
    secret: Mapped[str | None] = mapped_column(db.String(255))


class InboxRequest(db.Model):  # type: ignore[name-defined,misc]
    """A request the webhook inbox received."""

    __tablename__ = "example_inbox_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    inbox: Mapped[str] = mapped_column(db.String(64), index=True)
    received: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    headers: Mapped[dict[str, str]] = mapped_column(db.JSON)
    body: Mapped[str] = mapped_column(db.Text)
    verified: Mapped[bool] = mapped_column(default=False)
    #: Why it is not verified; ``None`` when it is.
    problem: Mapped[str | None] = mapped_column(db.Text)

    def json(self) -> t.Any:
        """The body parsed as JSON, or ``None``."""
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return None
