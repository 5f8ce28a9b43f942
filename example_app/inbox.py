"""A webhook inbox: somewhere to point webhooks at while trying the app
offline.

``POST /inbox/<name>`` stores any request with its headers and body, and
checks its Standard Webhooks signature against the secret set for that
inbox. ``/inbox/`` lists what arrived, newest first, and sets the secrets.
"""

from __future__ import annotations

import json
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from flask_integrations import WebhookVerificationError
from flask_integrations.signing import verify

from .extensions import admin_required, csrf, db
from .forms import INBOX_NAME_PATTERN, InboxSecretForm
from .models import Inbox, InboxRequest

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

#: Largest body stored; bigger requests are refused.
MAX_BODY = 64 * 1024
#: How many requests are kept; older ones are deleted.
KEEP = 200
#: How many requests the page shows.
SHOWN = 50


def set_inbox_secret(name: str, secret: str | None) -> None:
    """Set (or with ``None`` clear) the secret inbox ``name`` checks."""
    inbox = db.session.get(Inbox, name) or Inbox(name=name)
    inbox.secret = secret or None
    db.session.add(inbox)


@bp.post("/<name>")
@csrf.exempt
def receive(name: str) -> tuple[dict[str, object], int]:
    if not re.fullmatch(INBOX_NAME_PATTERN, name):
        abort(404)
    if (request.content_length or 0) > MAX_BODY:
        return {"error": f"The body is larger than {MAX_BODY} bytes."}, 413
    body = request.get_data(cache=False)
    headers = dict(request.headers)
    inbox = db.session.get(Inbox, name)
    secret = inbox.secret if inbox is not None else None
    problem = None
    if not secret:
        problem = "No signing secret is set for this inbox."
    else:
        try:
            verify(secret, headers, body)
        except WebhookVerificationError as exc:
            problem = str(exc)
    received = InboxRequest(
        inbox=name,
        headers=headers,
        body=body.decode("utf-8", "replace"),
        verified=problem is None,
        problem=problem,
    )
    db.session.add(received)
    db.session.flush()
    db.session.execute(
        db.delete(InboxRequest).where(InboxRequest.id <= received.id - KEEP)
    )
    db.session.commit()
    if secret and problem:
        # Like a real receiver, refuse what it cannot trust (and keep it here).
        return {"id": received.id, "verified": False, "error": problem}, 401
    return {"id": received.id, "verified": problem is None}, 200


@bp.before_request
def _admins_only() -> Response | None:
    """Everything but receiving is for administrators."""
    if request.endpoint == "inbox.receive":
        return None
    allowed = admin_required()
    return allowed if isinstance(allowed, Response) else None


@bp.route("/", methods=["GET", "POST"])
def index() -> str | Response:
    """The received requests, and a form to set an inbox's secret."""
    form = InboxSecretForm()
    if form.validate_on_submit():
        set_inbox_secret(form.inbox.data, form.secret.data)
        db.session.commit()
        flash(f"Saved the secret of the inbox '{form.inbox.data}'.")
        return redirect(url_for(".index"))
    return _render_page(form)


def _render_page(form: InboxSecretForm) -> str:
    received = db.session.execute(
        db.select(InboxRequest).order_by(InboxRequest.id.desc()).limit(SHOWN)
    ).scalars()
    inboxes = db.session.execute(db.select(Inbox).order_by(Inbox.name)).scalars()
    return render_template(
        "inbox.html",
        received=[(r, _pretty(r.body)) for r in received],
        inboxes=inboxes.all(),
        form=form,
    )


def _pretty(body: str) -> str:
    """The body, indented if it is JSON."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body
