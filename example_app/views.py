"""The tracker's pages: the ticket list, a ticket with its comments, the
new ticket form, and logging in and out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from .extensions import db, integrations
from .forms import CloseTicketForm, CommentForm, LoginForm, TicketForm
from .models import Ticket, User
from .tickets import add_comment, close_ticket, open_ticket

bp = Blueprint("example", __name__)

STATUSES = ("open", "closed")


@bp.get("/")
def index() -> str:
    status = request.args.get("status")
    query = db.select(Ticket).order_by(Ticket.id.desc())
    if status in STATUSES:
        query = query.filter_by(status=status)
    else:
        status = None
    tickets = db.session.execute(query).scalars().all()
    counts = dict(
        db.session.execute(
            db.select(Ticket.status, db.func.count()).group_by(Ticket.status)
        ).all()
    )
    return render_template(
        "index.html",
        tickets=tickets,
        status=status,
        counts=counts,
        integrations=integrations.manager.get_integrations(),
    )


@bp.route("/tickets/new", methods=["GET", "POST"])
@login_required
def new_ticket() -> str | Response:
    form = TicketForm()
    if form.validate_on_submit():
        ticket = open_ticket(form.title.data, form.body.data, current_user.username)
        flash(f"Opened ticket #{ticket.id}.")
        return redirect(url_for(".ticket", ticket_id=ticket.id))
    return render_template("new_ticket.html", form=form)


@bp.get("/tickets/<int:ticket_id>")
def ticket(ticket_id: int) -> str:
    ticket = db.get_or_404(Ticket, ticket_id)
    return _render_ticket(ticket, CommentForm())


@bp.post("/tickets/<int:ticket_id>/comments")
@login_required
def comment(ticket_id: int) -> str | Response:
    ticket = db.get_or_404(Ticket, ticket_id)
    form = CommentForm()
    if form.validate_on_submit():
        add_comment(ticket, form.body.data, current_user.username)
        flash("Comment added.")
        return redirect(url_for(".ticket", ticket_id=ticket.id))
    return _render_ticket(ticket, form)


def _render_ticket(ticket: Ticket, form: CommentForm) -> str:
    return render_template(
        "ticket.html", ticket=ticket, form=form, close_form=CloseTicketForm()
    )


@bp.post("/tickets/<int:ticket_id>/close")
@login_required
def close(ticket_id: int) -> Response:
    ticket = db.get_or_404(Ticket, ticket_id)
    if CloseTicketForm().validate_on_submit() and close_ticket(
        ticket, current_user.username
    ):
        flash(f"Closed ticket #{ticket.id}.")
    return redirect(url_for(".ticket", ticket_id=ticket.id))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.execute(
            db.select(User).filter_by(username=form.username.data)
        ).scalar_one_or_none()
        if user is not None and user.check_password(form.password.data):
            login_user(user)
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith(("//", "/\\")):
                target = url_for(".index")
            return redirect(target)
        flash("Wrong username or password.")
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    return redirect(url_for(".index"))
