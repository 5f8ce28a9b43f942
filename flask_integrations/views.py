"""The admin pages under ``/integrations/`` and the integrations' own routes.

The ``integrations`` Blueprint serves the list of integrations and their
configurations, the add, edit, toggle and delete pages, each integration's
static files and the routes integrations declare (see
:func:`flask_integrations.route`).
"""

from __future__ import annotations

import math
import re
import typing as t
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from .admin import (
    current_scope,
    enforce_admin_check,
    get_config_or_404,
    get_state,
    is_safe_url,
)
from .delivery import (
    DeliveryJob,
    get_log,
    get_state_table,
    new_delivery_id,
)
from .delivery import get_state as get_delivery_state
from .delivery import queue as queue_delivery
from .errors import IntegrationNotRegisteredError
from .forms import config_form_class
from .history import get_history
from .i18n import _, current_language
from .integration import Integration, switched_off
from .models import utcnow

#: Endpoints the outside world calls: no admin check, no CSRF.
PUBLIC_ENDPOINTS = frozenset(
    {
        "integrations.integration_route",
        "integrations.integration_static",
        # The pages' own stylesheet and icons, also used by the 403 page.
        "integrations.static",
    }
)

#: Dotted path of the integration route view, for CSRF exemption.
INTEGRATION_ROUTE_VIEW = f"{__name__}.integration_route"


class ActionForm(FlaskForm):  # type: ignore[misc]
    """The CSRF-protected form behind the Enable/Disable and Delete buttons."""


def create_blueprint() -> Blueprint:
    """Build the ``integrations`` Blueprint (one per app registration)."""
    bp = Blueprint(
        "integrations",
        __name__,
        template_folder="templates",
        static_folder="static/flask_integrations",
        # "~" cannot appear in an integration id, so this never shadows one.
        static_url_path="/~static",
    )
    bp.before_request(_check_access)
    bp.context_processor(_template_context)
    bp.add_url_rule("/", "list", list_configs, methods=["GET"])
    bp.add_url_rule(
        "/<integration_id>/configs/add/",
        "add_config",
        add_config,
        methods=["GET", "POST"],
    )
    bp.add_url_rule(
        "/<integration_id>/configs/<int:config_id>/",
        "edit_config",
        edit_config,
        methods=["GET", "POST"],
    )
    bp.add_url_rule(
        "/<integration_id>/configs/<int:config_id>/toggle/",
        "toggle_config",
        toggle_config,
        methods=["POST"],
    )
    bp.add_url_rule(
        "/<integration_id>/configs/<int:config_id>/delete/",
        "delete_config",
        delete_config,
        methods=["GET", "POST"],
    )
    bp.add_url_rule(
        "/<integration_id>/configs/<int:config_id>/test/",
        "test_config",
        test_config,
        methods=["POST"],
    )
    bp.add_url_rule(
        "/<integration_id>/configs/<int:config_id>/deliveries/<delivery_id>/redeliver/",
        "redeliver",
        redeliver,
        methods=["POST"],
    )
    bp.add_url_rule(
        "/<integration_id>/static/<path:filename>",
        "integration_static",
        integration_static,
        methods=["GET"],
    )
    bp.add_url_rule(
        "/<integration_id>/<path:path>",
        "integration_route",
        integration_route,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        provide_automatic_options=False,
    )
    return bp


def _check_access() -> Response | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return enforce_admin_check()


def _template_context() -> dict[str, t.Any]:
    return {
        "integrations_base_template": current_app.config["INTEGRATIONS_BASE_TEMPLATE"],
        "integrations_language": current_language(),
        "integrations_switched_off": not current_app.config["INTEGRATIONS_ENABLED"],
    }


def _integration_or_404(integration_id: str) -> Integration:
    try:
        return get_state().manager.get_integration(integration_id)
    except IntegrationNotRegisteredError:
        abort(404)


def _sort_key(integration: Integration) -> tuple[str, str]:
    return (str(integration.name or "").casefold(), str(integration.integration_id))


def _success_redirect() -> Response:
    target = request.args.get("next") or request.form.get("next")
    if not is_safe_url(target):
        target = url_for("integrations.list")
    return redirect(t.cast(str, target))


# -- list ---------------------------------------------------------------------


def list_configs() -> str:
    """Every integration with its configurations; filter and pagination."""
    state = get_state()
    manager = state.manager
    model = manager.config_model
    # NUL cannot be sent to some databases (PostgreSQL) and never matches.
    query = request.args.get("q", "").replace("\x00", "").strip()
    per_page = max(1, int(current_app.config["INTEGRATIONS_PAGE_SIZE"]))
    page = max(1, request.args.get("page", 1, type=int) or 1)

    conditions = [getattr(model, k) == v for k, v in current_scope().items()]
    if query:
        pattern = (
            "%"
            + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        conditions.append(
            sa.or_(
                model.name.ilike(pattern, escape="\\"),
                model.integration_id.ilike(pattern, escape="\\"),
            )
        )
    session = manager.session
    counts: dict[str, int] = dict(
        session.execute(
            sa.select(model.integration_id, sa.func.count(model.id))
            .where(*conditions)
            .group_by(model.integration_id)
        ).all()
    )
    total = sum(counts.values())
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    # Plain rows of the columns shown: a page may hold a thousand rows, and
    # ORM instances (with their JSON settings) would cost far more.
    configs = session.execute(
        sa.select(
            model.id,
            model.integration_id,
            model.name,
            model.enabled,
            model.last_updated,
        )
        .where(*conditions)
        .order_by(model.integration_id, model.name, model.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    integrations = sorted(manager.get_integrations(), key=_sort_key)
    registered = {i.integration_id for i in integrations}
    states = _delivery_states([c.id for c in configs])
    action_form = ActionForm()
    csrf_field = action_form.csrf_token() if "csrf_token" in action_form else ""
    build_row = ListRowBuilder(request.full_path, states, csrf_field)
    by_integration: dict[str, list[ListRow]] = {}
    orphans = []
    for config in configs:
        row = build_row(config)
        if config.integration_id in registered:
            by_integration.setdefault(config.integration_id, []).append(row)
        else:
            orphans.append(row)
    return render_template(
        "flask_integrations/list.html",
        integrations=integrations,
        configs_by_integration=by_integration,
        counts=counts,
        orphans=orphans,
        query=query,
        page=page,
        pages=pages,
        total=total,
        action_form=action_form,
    )


class ListRow(t.NamedTuple):
    """One configuration of the list page, with everything its row shows
    computed once in Python (a page can hold a thousand rows, and each
    template call costs more than the work it does)."""

    id: int
    integration_id: str
    name: str
    enabled: bool
    edit_url: str
    toggle_url: str
    delete_url: str
    updated: Markup
    note: Markup
    #: The whole ``<tr>``, as the default template shows it.
    html: Markup


_SAFE_ID = re.compile(r"[A-Za-z0-9_.-]+")


class ListRowBuilder:
    """Builds :class:`ListRow` objects, with one :func:`~flask.url_for`
    call per endpoint for the whole page.

    :param next_path: Where the toggle button returns to.
    :param states: Delivery states by configuration id.
    :param csrf_field: The CSRF field of the toggle forms, rendered.
    """

    _ID = "999999999999"
    _ENDPOINTS = ("edit_config", "delete_config", "toggle_config")

    def __init__(
        self, next_path: str, states: t.Mapping[int, t.Any], csrf_field: str = ""
    ) -> None:
        #: Per endpoint, the URL split around the integration id and the
        #: configuration id (both made of URL- and HTML-safe characters).
        self._parts: dict[str, tuple[str, str, str]] = {}
        self._html_parts: dict[str, tuple[str, str, str]] = {}
        for name in self._ENDPOINTS:
            url = url_for(
                f"integrations.{name}",
                integration_id="integration-placeholder",
                config_id=self._ID,
                **({"next": next_path} if name == "toggle_config" else {}),  # type: ignore[arg-type]
            )
            start, rest = url.split("integration-placeholder", 1)
            middle, end = rest.split(self._ID, 1)
            self._parts[name] = (start, middle, end)
            self._html_parts[name] = (
                str(escape(start)),
                str(escape(middle)),
                str(escape(end)),
            )
        self._states = states
        self._now = utcnow()
        self._csrf = str(csrf_field)
        labels = {
            "edit": _("Edit"),
            "delete": _("Delete"),
            "enable": _("Enable"),
            "disable": _("Disable"),
            "unnamed": _("(unnamed)"),
        }
        self._labels = {k: str(escape(v)) for k, v in labels.items()}
        badge = '<span class="fi-badge fi-badge-{}">{}</span>'
        self._badges = {
            True: badge.format("on", escape(_("Enabled"))),
            False: badge.format("off", escape(_("Disabled"))),
        }

    def __call__(self, config: t.Any) -> ListRow:
        """The row of ``config`` (a row of the list query)."""
        raw_id, cid = str(config.integration_id), str(config.id)
        # Registered ids are URL- and HTML-safe; an orphan's may be anything.
        iid = raw_id if _SAFE_ID.fullmatch(raw_id) else quote(raw_id, safe="")
        urls = {n: f"{a}{iid}{b}{cid}{c}" for n, (a, b, c) in self._parts.items()}
        hrefs = {n: f"{a}{iid}{b}{cid}{c}" for n, (a, b, c) in self._html_parts.items()}
        edit, toggle = hrefs["edit_config"], hrefs["toggle_config"]
        delete = hrefs["delete_config"]
        updated = config.last_updated
        # An ISO date is digits and punctuation: nothing to escape. Stored
        # times are UTC, so its first 16 characters are the shown time.
        iso = updated.isoformat() if updated else ""
        updated_html = (
            f'<time datetime="{iso}">{iso[:10]} {iso[11:16]} UTC</time>' if iso else ""
        )
        note = self._note(config)
        labels = self._labels
        name = str(escape(config.name or ""))
        enabled = bool(config.enabled)
        toggle_label = labels["disable" if enabled else "enable"]
        html = (
            f'<tr>\n<th scope="row"><a href="{edit}">{name or labels["unnamed"]}'
            f"</a></th>\n<td>{self._badges[enabled]}{note}</td>\n"
            f'<td>{updated_html}</td>\n<td class="fi-actions">\n'
            f'<a class="fi-button fi-button-secondary" href="{edit}">'
            f'{labels["edit"]}<span class="fi-visually-hidden"> {name}</span></a>\n'
            f'<form method="post" class="fi-inline-form" action="{toggle}">'
            f"{self._csrf}"
            f'<button type="submit" class="fi-button fi-button-secondary">'
            f'{toggle_label}<span class="fi-visually-hidden"> {name}</span>'
            f"</button></form>\n"
            f'<a class="fi-button fi-button-danger" href="{delete}">'
            f'{labels["delete"]}<span class="fi-visually-hidden"> {name}</span>'
            f"</a>\n</td>\n</tr>\n"
        )
        return ListRow(
            id=config.id,
            integration_id=raw_id,
            name=config.name,
            enabled=config.enabled,
            edit_url=urls["edit_config"],
            toggle_url=urls["toggle_config"],
            delete_url=urls["delete_config"],
            updated=Markup(updated_html),
            note=note,
            html=Markup(html),
        )

    def _note(self, config: t.Any) -> Markup:
        state = self._states.get(config.id)
        if state is None:
            return Markup("")
        if state["disabled_reason"] and not config.enabled:
            return Markup('<br><span class="fi-failure-note">{}</span>').format(
                state["disabled_reason"]
            )
        paused = state["paused_until"]
        if paused and paused > self._now and config.enabled:
            text = _(
                "Paused after %(count)s failed deliveries",
                count=state["consecutive_failures"],
            )
            return Markup('<br><span class="fi-warning-note">{}</span>').format(text)
        return Markup("")


# -- add and edit ---------------------------------------------------------------


def add_config(integration_id: str) -> str | Response:
    """Add a configuration of an integration."""
    integration = _integration_or_404(integration_id)
    form = config_form_class(integration)(integration)
    if form.validate_on_submit():
        config = form.populate_config(integration.create_config())
        for column, value in current_scope().items():
            setattr(config, column, value)
        session = get_state().manager.session
        session.add(config)
        if not _commit(session):
            return _render_busy(integration, form, None)
        flash(_("Added “%(name)s”.", name=config.name), "integrations")
        return _success_redirect()
    _reject_bad_csrf(form)
    return _render_config_page(integration, form, config=None)


def edit_config(integration_id: str, config_id: int) -> str | Response:
    """Edit a configuration; shows its history.

    The page carries the version it was opened at; saving over a newer
    version re-renders the form with what the user typed and a message,
    instead of overwriting someone else's change.
    """
    integration = _integration_or_404(integration_id)
    config = get_config_or_404(integration_id, config_id)
    form = config_form_class(integration)(integration, config)
    if form.validate_on_submit():
        opened = _opened_version()
        if opened is not None and opened != config.version:
            return _render_config_page(integration, form, config, conflict=True)
        form.populate_config(config)
        session = get_state().manager.session
        try:
            saved = _commit(session)
        except StaleDataError:
            session.rollback()
            return _render_conflict(integration, config_id)
        if not saved:
            return _render_busy(
                integration, form, get_config_or_404(integration_id, config_id)
            )
        flash(_("Saved “%(name)s”.", name=config.name), "integrations")
        return _success_redirect()
    _reject_bad_csrf(form)
    return _render_config_page(integration, form, config=config)


def _reject_bad_csrf(form: t.Any) -> None:
    """A post without a valid CSRF token is refused, not re-rendered."""
    token = getattr(form, "csrf_token", None)
    if request.method == "POST" and token is not None and token.errors:
        abort(
            400,
            description=_(
                "The form has expired or did not come from this site."
                " Reload the page and try again."
            ),
        )


def _opened_version() -> int | None:
    """The version the page was opened at; ``None`` when a custom template
    does not send it (then only a change racing the commit is caught)."""
    return request.form.get("_version", type=int)


def _render_conflict(integration: Integration, config_id: int) -> str | Response:
    """Re-render after a concurrent change was detected at commit time."""
    manager = get_state().manager
    config = manager.session.get(manager.config_model, config_id)
    if config is None:
        return _render_gone()
    form = config_form_class(integration)(integration, config, formdata=request.form)
    return _render_config_page(integration, form, config, conflict=True)


def _render_gone() -> Response:
    """The configuration vanished (deleted by someone else) mid-edit."""
    return Response(render_template("flask_integrations/gone.html"), status=404)


def _delivery_states(config_ids: list[int]) -> dict[int, t.Any]:
    if not config_ids:
        return {}
    manager = get_state().manager
    table = get_state_table(manager.config_model.__table__.metadata)
    rows = manager.session.execute(
        sa.select(table).where(table.c.config_id.in_(config_ids))
    ).mappings()
    return {row["config_id"]: row for row in rows}


def _render_config_page(
    integration: Integration,
    form: t.Any,
    config: t.Any,
    conflict: bool = False,
    test_result: t.Any = None,
) -> str:
    template = integration.config_template_name or "flask_integrations/config.html"
    next_url = request.args.get("next")
    manager = get_state().manager
    return render_template(
        template,
        integration=integration,
        form=form,
        config=config,
        conflict=conflict,
        test_result=test_result,
        can_test=config is not None and delivers(integration),
        delivery_state=get_delivery_state(manager, config.id) if config else None,
        now=utcnow(),
        deliveries=get_log(manager, config.id) if config else [],
        history=get_history(config) if config is not None else [],
        action_form=ActionForm(),
        next_url=next_url if is_safe_url(next_url) else None,
    )


# -- toggle and delete -------------------------------------------------------


def _require_action_form() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def toggle_config(integration_id: str, config_id: int) -> Response:
    """Enable or disable a configuration (POST only)."""
    _integration_or_404(integration_id)
    config = get_config_or_404(integration_id, config_id)
    _require_action_form()
    config.enabled = not config.enabled
    manager = get_state().manager
    session = manager.session
    try:
        saved = _commit(session)
    except StaleDataError:
        session.rollback()
        return _render_gone_or_back()
    if not saved:
        _flash_busy()
        return redirect(url_for("integrations.list"))
    if config.enabled:
        flash(_("Enabled “%(name)s”.", name=config.name), "integrations")
    else:
        flash(_("Disabled “%(name)s”.", name=config.name), "integrations")
    return _success_redirect()


def delete_config(integration_id: str, config_id: int) -> str | Response:
    """Confirm (GET) and delete (POST) a configuration, orphans included."""
    config = get_config_or_404(integration_id, config_id)
    try:
        integration: Integration | None = get_state().manager.get_integration(
            integration_id
        )
    except IntegrationNotRegisteredError:
        integration = None
    if request.method == "POST":
        _require_action_form()
        name = config.name
        session = get_state().manager.session
        session.delete(config)
        try:
            saved = _commit(session)
        except StaleDataError:
            session.rollback()
            return _render_gone_or_back()
        if not saved:
            _flash_busy()
            return redirect(url_for("integrations.list"))
        flash(_("Deleted “%(name)s”.", name=name), "integrations")
        return _success_redirect()
    return render_template(
        "flask_integrations/delete.html",
        integration=integration,
        config=config,
        action_form=ActionForm(),
    )


def delivers(integration: Integration) -> bool:
    """Whether the integration implements :meth:`Integration.deliver`."""
    return type(integration).deliver is not Integration.deliver


def test_config(integration_id: str, config_id: int) -> str:
    """*Send test*: deliver a test event now and show the result."""
    integration = _integration_or_404(integration_id)
    config = get_config_or_404(integration_id, config_id)
    _require_action_form()
    if not delivers(integration):
        abort(404)
    snapshot = get_state().manager.get_integration_configs(integration, id=config_id)[0]
    result = integration.send_test(snapshot)
    form = config_form_class(integration)(integration, config, formdata=None)
    return _render_config_page(integration, form, config, test_result=result)


def redeliver(integration_id: str, config_id: int, delivery_id: str) -> Response:
    """Queue a logged delivery again, as a new delivery."""
    integration = _integration_or_404(integration_id)
    get_config_or_404(integration_id, config_id)
    _require_action_form()
    manager = get_state().manager
    entry = next(
        (
            e
            for e in get_log(manager, config_id, limit=1000)
            if e["delivery_id"] == delivery_id
        ),
        None,
    )
    if entry is None:
        abort(404)
    job = DeliveryJob(
        delivery_id=new_delivery_id(),
        config_id=config_id,
        integration_id=t.cast(str, integration.integration_id),
        event=entry["event"],
        payload=entry["payload"],
    )
    if switched_off(manager):
        flash(
            _(
                "Integrations are switched off ('INTEGRATIONS_ENABLED' is False):"
                " nothing was queued."
            ),
            "integrations",
        )
    else:
        queue_delivery(manager, job)
        flash(
            _("Queued the “%(event)s” delivery again.", event=entry["event"]),
            "integrations",
        )
    return redirect(
        url_for(
            "integrations.edit_config",
            integration_id=integration_id,
            config_id=config_id,
        )
    )


#: SQLSTATEs of a transaction refused because of a concurrent one
#: (serialization failure, deadlock): saving again succeeds.
_CONCURRENCY_SQLSTATES = frozenset({"40001", "40P01"})


def _commit(session: t.Any) -> bool:
    """Commit; on a commit refused because of a concurrent transaction
    (under ``REPEATABLE READ`` or ``SERIALIZABLE`` two configuration changes
    meet on the generation row), roll back and return ``False``.

    :raises StaleDataError: The configuration changed or went meanwhile.
    """
    try:
        session.commit()
    except sa.exc.DBAPIError as exc:
        orig = exc.orig
        state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if state not in _CONCURRENCY_SQLSTATES:
            raise
        session.rollback()
        return False
    return True


def _flash_busy() -> None:
    flash(
        _(
            "Another change was being saved at the same moment, so this one"
            " was not saved. Please try again."
        ),
        "integrations",
    )


def _render_busy(integration: Integration, form: t.Any, config: t.Any) -> Response:
    """Re-render a form whose save lost to a concurrent transaction."""
    _flash_busy()
    return Response(_render_config_page(integration, form, config), status=409)


def _render_gone_or_back() -> Response:
    """After a lost race on toggle or delete: say what happened."""
    flash(
        _(
            "The configuration was changed or deleted by someone else meanwhile;"
            " nothing was done. Please check it and try again."
        ),
        "integrations",
    )
    return redirect(url_for("integrations.list"))


# -- the integrations' own files and routes ------------------------------------


def integration_static(integration_id: str, filename: str) -> Response:
    """A file of the integration's ``static/`` folder."""
    integration = _integration_or_404(integration_id)
    if integration.static_folder is None:
        abort(404)
    return send_from_directory(integration.static_folder, filename)


def _admin_methods_for_path() -> list[str]:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    methods = []
    for method in ("GET", "POST"):
        try:
            endpoint, _ = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "integrations.integration_route":
            methods.append(method)
    return methods


def integration_route(integration_id: str, path: str) -> t.Any:
    """Dispatch to a route the integration declares."""
    admin_methods = _admin_methods_for_path()
    if admin_methods:
        # An admin page's URL with a method it does not take: the catch-all
        # rule matched only because of the method.
        raise MethodNotAllowed(valid_methods=admin_methods)
    integration = _integration_or_404(integration_id)
    adapter = integration.url_map.bind("localhost")
    try:
        endpoint, values = adapter.match("/" + path, method=request.method)
    except RequestRedirect as exc:
        new_path = urlsplit(exc.new_url).path.lstrip("/")
        return redirect(
            url_for(
                "integrations.integration_route",
                integration_id=integration_id,
                path=new_path,
            ),
            code=308,
        )
    except MethodNotAllowed:
        raise
    except NotFound:
        abort(404)
    return integration.view_functions[endpoint](**values)
