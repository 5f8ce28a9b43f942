"""The example app's own pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from .extensions import db, integrations
from .models import User

bp = Blueprint("example", __name__)


@bp.get("/")
def index() -> str:
    manager = integrations.manager
    return render_template("index.html", integrations=manager.get_integrations())


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if request.method == "POST":
        user = db.session.execute(
            db.select(User).filter_by(username=request.form.get("username", ""))
        ).scalar_one_or_none()
        if user is not None and user.check_password(request.form.get("password", "")):
            login_user(user)
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("example.index")
            return redirect(target)
        flash("Wrong username or password.")
    return render_template("login.html")


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    return redirect(url_for("example.index"))
