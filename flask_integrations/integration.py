"""The :class:`Integration` base class."""

from __future__ import annotations

import json
import logging
import re
import traceback
import typing as t
from dataclasses import dataclass, field
from datetime import datetime

from .errors import IntegrationError, IntegrationRegistrationError
from .forms import IntegrationConfigForm
from .models import utcnow
from .routing import build_url_map, resource_folder
from .signals import integration_disabled, integration_enabled

if t.TYPE_CHECKING:  # pragma: no cover
    from .conditions import Choice
    from .delivery import DeliveryJob, Outcome
    from .hooks import IntegrationHook
    from .manager import IntegrationManager
    from .outbound import OutboundResponse
    from .snapshot import ConfigSnapshot

logger = logging.getLogger("flask_integrations")

_ID_RE = re.compile(r"[A-Za-z0-9_.-]+")

# Set on a class when registration gave it an automatic id, so that
# subclasses know not to inherit it.
_AUTO_ID_FLAG = "_flask_integrations_auto_id"


@dataclass(frozen=True)
class IntegrationFailure:
    """Why an integration could not be enabled.

    :param summary: One line: the exception's type and message.
    :param traceback: The formatted traceback.
    :param time: When it happened (UTC).
    """

    summary: str
    traceback: str
    time: datetime = field(default_factory=utcnow)

    @classmethod
    def from_exception(cls, exc: BaseException) -> IntegrationFailure:
        """Build a failure record from the exception being handled."""
        return cls(
            summary=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc)),
        )


def _json_copy(value: t.Any, integration_id: str | None) -> t.Any:
    """A JSON round trip of ``value``: what a job can carry."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise IntegrationError(
            f"The payload of an event of '{integration_id}' is not JSON: {exc}"
        ) from exc


def switched_off(manager: IntegrationManager) -> bool:
    """Whether ``INTEGRATIONS_ENABLED`` is false for the app ``manager``
    serves: then no integration is enabled and no delivery is queued."""
    app = manager.app
    return app is not None and not app.config.get("INTEGRATIONS_ENABLED", True)


def resolve_integration_id(cls: type[Integration]) -> str:
    """Return the id of ``cls``, assigning ``"<module>.<ClassName>"`` if unset.

    An explicit id is inherited by subclasses; an automatic one is not.

    :raises IntegrationRegistrationError: The id is not made of letters,
        digits, ``_``, ``.`` and ``-``.
    """
    if "integration_id" in cls.__dict__:
        integration_id = cls.__dict__["integration_id"]
    else:
        integration_id = _inherited_explicit_id(cls)
    if integration_id is None:
        integration_id = f"{cls.__module__}.{cls.__name__}"
        cls.integration_id = integration_id
        setattr(cls, _AUTO_ID_FLAG, True)
    if (
        not isinstance(integration_id, str)
        or not _ID_RE.fullmatch(integration_id)
        or integration_id in (".", "..")
    ):
        raise IntegrationRegistrationError(
            f"The integration id {integration_id!r} of '{cls.__name__}' is not"
            " valid. Use only letters, digits, '_', '.' and '-'."
        )
    return integration_id


def _inherited_explicit_id(cls: type) -> str | None:
    for base in cls.__mro__[1:]:
        if "integration_id" in base.__dict__:
            value = base.__dict__["integration_id"]
            if value is None or base.__dict__.get(_AUTO_ID_FLAG):
                return None
            return t.cast(str, value)
    return None


class Integration:
    """Base class of an integration with a third-party service.

    Each registered class has one instance, owned by an
    :class:`~flask_integrations.IntegrationManager`. The instance is enabled
    exactly while at least one enabled configuration of it is stored; it then
    runs :meth:`initialize`, which is where hooks are created::

        class ChatIntegration(Integration):
            integration_id = "acme.chat"
            name = "Acme Chat"

            def initialize(self):
                SignalHook(self, ticket_created, self.on_ticket_created)

    :param integration_mgr: The manager that owns this integration.
    """

    #: Unique id. Left ``None``, registration sets ``"<module>.<ClassName>"``.
    integration_id: t.ClassVar[str | None] = None

    #: Display name.
    name: str | None = None

    #: Short plain-text description.
    description: str | None = None

    #: Icon URLs by density (``"1x"``, ``"2x"``…). Values are URLs, or paths
    #: in the integration's own static folder.
    icon_static_urls: t.Mapping[str, str] = {}

    #: Values that :meth:`IntegrationConfigMixin.get` falls back to.
    default_settings: t.Mapping[str, t.Any] = {}

    #: Form used to add and edit configurations.
    config_form_cls: type[IntegrationConfigForm] = IntegrationConfigForm

    #: Template of the configuration page; ``None`` for the default one.
    config_template_name: str | None = None

    #: The events this integration can deliver, name to label. When set, each
    #: configuration chooses which of them it receives (a checkbox list on
    #: its page, stored in the ``events`` setting).
    events: t.Mapping[str, str] = {}

    #: What conditions can test in events' payloads:
    #: :class:`~flask_integrations.Choice` objects by event name (under
    #: ``"*"``, choices of every event), or one sequence for every event. A
    #: :class:`~flask_integrations.ConditionsField` on the configuration
    #: form offers them (see :mod:`flask_integrations.conditions`).
    condition_choices: t.Mapping[str, t.Sequence[Choice]] | t.Sequence[Choice] = {}

    #: Version of the layout of this integration's settings. Raise it when
    #: the layout changes, and upgrade old settings in :meth:`migrate_settings`.
    settings_version: t.ClassVar[int] = 1

    def __init__(self, integration_mgr: IntegrationManager) -> None:
        self.integration_mgr = integration_mgr
        self.enabled = False
        # The manager's cached answer to get_configs() with no filter.
        self._enabled_configs: tuple[ConfigSnapshot, ...] | None = None
        self.hooks: set[IntegrationHook] = set()
        #: Why the last :meth:`enable_integration` failed, or ``None``.
        self.failure: IntegrationFailure | None = None
        #: The ``templates/`` and ``static/`` folders beside the module.
        self.template_folder = resource_folder(type(self), "templates")
        self.static_folder = resource_folder(type(self), "static")
        #: The integration's own routes (see :func:`flask_integrations.route`).
        self.url_map, self.view_functions = build_url_map(self)

    @property
    def id(self) -> str | None:
        """Alias of :attr:`integration_id`."""
        return self.integration_id

    def url_for(self, endpoint: str, **values: t.Any) -> str:
        """Build the URL of one of this integration's routes.

        ``"static"`` with ``filename=`` gives a file of its static folder.
        ``_external=True`` and the other :func:`flask.url_for` options work.

        :param endpoint: The route's endpoint (by default the method name).
        """
        from flask import url_for

        options = {k: values.pop(k) for k in list(values) if k.startswith("_")}
        if endpoint == "static":
            return url_for(
                "integrations.integration_static",
                integration_id=self.integration_id,
                **values,
                **options,
            )
        # The integration's own map builds (and quotes) the path and query;
        # passing it through url_for as a value would quote it twice.
        path = self.url_map.bind("").build(endpoint, values)
        prefix = url_for("integrations.list", **options)
        return f"{prefix}{self.integration_id}{path}"

    def get_icon_urls(self) -> dict[str, str]:
        """Return :attr:`icon_static_urls` with static-folder paths turned
        into URLs. Empty when the integration has no icon."""
        urls = {}
        for density, value in dict(self.icon_static_urls or {}).items():
            if not value:
                continue
            if value.startswith("/") or "://" in value:
                urls[density] = value
            else:
                urls[density] = self.url_for("static", filename=value)
        return urls

    def enable_integration(self) -> None:
        """Enable the integration, calling :meth:`initialize` once.

        Does nothing if it is already enabled, or if the app switched every
        integration off (``INTEGRATIONS_ENABLED = False``). If
        :meth:`initialize` raises, the error is logged and kept in
        :attr:`failure`, the hooks created so far are shut down and the
        integration stays disabled.
        """
        with self.integration_mgr.lock:
            if self.enabled or switched_off(self.integration_mgr):
                return
            self.enabled = True
            try:
                self.initialize()
            except Exception as exc:
                self.enabled = False
                self.failure = IntegrationFailure.from_exception(exc)
                logger.exception(
                    "Integration '%s' failed to initialize and stays disabled.",
                    self.integration_id,
                )
                self.shutdown_hooks()
                return
            self.failure = None
        integration_enabled.send(self)

    def disable_integration(self) -> None:
        """Disable the integration: :meth:`shutdown`, then :meth:`shutdown_hooks`.

        Does nothing if it is not enabled. Hooks are shut down even when
        :meth:`shutdown` raises (the error is logged).
        """
        with self.integration_mgr.lock:
            if not self.enabled:
                return
            self.enabled = False
            try:
                self.shutdown()
            except Exception:
                logger.exception(
                    "Integration '%s' raised while shutting down.", self.integration_id
                )
            finally:
                self.shutdown_hooks()
        integration_disabled.send(self)

    def initialize(self) -> None:
        """Set the integration up when it is enabled; create hooks here.

        The default does nothing.
        """

    def shutdown(self) -> None:
        """Clean up when the integration is disabled. The default does nothing.

        Hooks are shut down afterwards by :meth:`shutdown_hooks`.
        """

    def shutdown_hooks(self) -> None:
        """Shut down every live hook of this integration."""
        for hook in list(self.hooks):
            try:
                hook.shutdown()
            except Exception:
                logger.exception(
                    "A hook of integration '%s' raised while shutting down.",
                    self.integration_id,
                )
        self.hooks.clear()

    def migrate_settings(
        self, settings: dict[str, t.Any], from_version: int
    ) -> dict[str, t.Any]:
        """Upgrade settings stored by an older :attr:`settings_version`.

        Called lazily when a configuration written for ``from_version`` is
        read; the result is saved. The default returns the settings as they
        are. Raising marks the configuration as broken: it is left out of
        the results, logged, and reported by ``flask integrations check``.

        :param settings: A copy of the stored settings.
        :param from_version: The version they were written for.
        :return: The settings for the current :attr:`settings_version`.
        """
        return settings

    # -- deliveries ------------------------------------------------------------

    def receives(self, config: t.Any, event: str) -> bool:
        """Whether ``config`` chose to receive ``event``.

        Integrations that declare no :attr:`events` receive everything; a
        configuration that never chose receives every declared event.
        """
        if not self.events:
            return True
        chosen = config.get("events")
        if chosen is None:
            return event in self.events
        return isinstance(chosen, list) and event in chosen

    def send_event(
        self, event: str, payload: t.Any, **filter_kwargs: t.Any
    ) -> list[DeliveryJob]:
        """Queue a delivery of ``event`` to every enabled configuration that
        receives it.

        Deliveries run outside the request, through the app's dispatcher,
        after the current transaction commits (none if it rolls back). None
        is queued while ``INTEGRATIONS_ENABLED`` is false.

        :param payload: JSON-serialisable data for :meth:`deliver`.
        :param filter_kwargs: Limit the configurations, as in
            :meth:`get_configs`.
        :return: The queued jobs.
        :raises IntegrationError: ``payload`` is not JSON-serialisable.
        """
        from .delivery import DeliveryJob, new_delivery_ids, queue_all

        payload = _json_copy(payload, self.integration_id)
        if switched_off(self.integration_mgr):
            return []
        configs = [
            config
            for config in self.get_configs(**filter_kwargs)
            if self.receives(config, event)
        ]
        integration_id = t.cast(str, self.integration_id)
        jobs = [
            DeliveryJob(
                delivery_id=delivery_id,
                config_id=config.id,
                integration_id=integration_id,
                event=event,
                payload=payload,
            )
            for config, delivery_id in zip(
                configs, new_delivery_ids(len(configs)), strict=True
            )
        ]
        queue_all(self.integration_mgr, jobs)
        return jobs

    def deliver(
        self, config: ConfigSnapshot, event: str, payload: t.Any, delivery: DeliveryJob
    ) -> OutboundResponse | None:
        """Send one delivery to the outside service; subclasses implement it.

        Runs in a dispatcher's worker, with an app context. Use an
        :class:`~flask_integrations.OutboundClient` and return its response:
        2xx is a success; network errors, timeouts, 408, 425, 429 and 5xx are
        retried; anything else fails. Returning ``None`` counts as success.

        :param delivery: The job (``delivery.delivery_id`` stays the same
            across retries; sign with it).
        """
        raise NotImplementedError(
            f"'{type(self).__name__}' sends events but does not implement 'deliver()'."
        )

    def test_payload(self, config: ConfigSnapshot) -> t.Any:
        """The payload of the *Send test* action."""
        return {
            "event": "test",
            "message": f"Test from the configuration '{config.name}'.",
        }

    def send_test(self, config: ConfigSnapshot) -> Outcome:
        """Deliver a test event to ``config`` now, in this thread.

        The attempt is logged; a success clears the configuration's failure
        count and pause. In capture mode the test is recorded in the outbox
        instead (outcome ``"captured"``, nothing logged); while
        ``INTEGRATIONS_ENABLED`` is false nothing is sent (outcome
        ``"failed"``).
        """
        from flask import current_app

        from .capture import capture
        from .delivery import (
            DeliveryJob,
            Outcome,
            attempt,
            log_attempt,
            new_delivery_id,
            record_success,
        )

        job = DeliveryJob(
            delivery_id=new_delivery_id(),
            config_id=config.id,
            integration_id=t.cast(str, self.integration_id),
            event="test",
            payload=_json_copy(self.test_payload(config), self.integration_id),
        )
        if switched_off(self.integration_mgr):
            return Outcome(
                "failed",
                error="Integrations are switched off ('INTEGRATIONS_ENABLED' is"
                " False): nothing was sent.",
            )
        if capture(current_app._get_current_object(), job):  # type: ignore[attr-defined]
            return Outcome("captured")
        outcome = attempt(self, config, job)
        if outcome.kind == "success":
            record_success(self.integration_mgr, config.id, job=job, outcome=outcome)
        else:
            log_attempt(self.integration_mgr, job, outcome)
        return outcome

    def get_configs(self, **filter_kwargs: t.Any) -> list[ConfigSnapshot]:
        """Return the enabled configurations of this integration.

        :param filter_kwargs: Column values to match, e.g. ``name="ops"``.
        :return: Read-only snapshots, cached per distinct filter.
        :raises InvalidConfigFilterError: A filter names an unknown column.
        """
        if not filter_kwargs:
            cached = self._enabled_configs
            if cached is not None:
                return list(cached)
            filter_kwargs = {"enabled": True}
        else:
            filter_kwargs.setdefault("enabled", True)
        return self.integration_mgr.get_integration_configs(type(self), **filter_kwargs)

    def create_config(self, save: bool = False, **kwargs: t.Any) -> t.Any:
        """Build a configuration of this integration.

        :param save: Add it to the session and commit.
        :param kwargs: Column values of the new configuration.
        :return: An instance of the manager's ``config_model``.
        """
        config = self.integration_mgr.config_model(
            integration_id=self.integration_id, **kwargs
        )
        if save:
            session = self.integration_mgr.session
            session.add(config)
            session.commit()
        return config

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        return f"<{type(self).__name__} {self.integration_id!r} {state}>"
