"""Routes, templates and static files an integration serves itself.

An integration declares routes with the :func:`route` decorator on its
methods; they are served under
``<INTEGRATIONS_URL_PREFIX>/<integration_id>/<rule>``, next to its
``static/`` folder, and its ``templates/`` folder joins the app's template
search path. The extension dispatches to them itself, so an integration
registered after the app has started serving is reachable at once.
"""

from __future__ import annotations

import os
import sys
import typing as t

from jinja2 import BaseLoader, Environment, FileSystemLoader, TemplateNotFound
from werkzeug.routing import Map, Rule

if t.TYPE_CHECKING:  # pragma: no cover
    from .integration import Integration
    from .manager import IntegrationManager

_ROUTES_ATTR = "_flask_integrations_routes"

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def route(rule: str, **options: t.Any) -> t.Callable[[F], F]:
    """Declare a method of an :class:`Integration` as a route of its own.

    ::

        class ChatOps(Integration):
            @route("/command", methods=["POST"])
            def command(self):
                ...

    The rule is relative to the integration's URL
    (``/integrations/<integration_id>``). Routes are for the outside service
    (incoming webhooks, OAuth callbacks): they are not behind the admin check
    and are exempt from CSRF. The endpoint is the method name unless
    ``endpoint=`` is given.

    :param rule: The URL rule, starting with ``/``.
    :param options: ``methods``, ``endpoint``, ``defaults``, ``strict_slashes``.
    """

    def decorator(func: F) -> F:
        routes = list(getattr(func, _ROUTES_ATTR, ()))
        routes.append((rule, options))
        setattr(func, _ROUTES_ATTR, routes)
        return func

    return decorator


def build_url_map(
    integration: Integration,
) -> tuple[Map, dict[str, t.Callable[..., t.Any]]]:
    """Collect the routes an integration's class declares.

    :return: The URL map and the view callables by endpoint (bound methods).
    """
    rules = []
    views: dict[str, t.Callable[..., t.Any]] = {}
    seen: set[str] = set()
    for klass in type(integration).__mro__:
        for name, attr in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            for rule, options in getattr(attr, _ROUTES_ATTR, ()):
                options = dict(options)
                endpoint = options.pop("endpoint", None) or name
                rules.append(Rule(rule, endpoint=endpoint, **options))
                views[endpoint] = getattr(integration, name)
    return Map(rules), views


def module_folder(cls: type) -> str | None:
    """Return the folder of the module that defines ``cls``."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) if path else None


def resource_folder(cls: type, name: str) -> str | None:
    """Return ``<module folder>/<name>`` if it exists."""
    folder = module_folder(cls)
    if folder is None:
        return None
    path = os.path.join(folder, name)
    return path if os.path.isdir(path) else None


class IntegrationTemplateLoader(BaseLoader):
    """Finds templates in the ``templates/`` folders of the registered
    integrations of the current app, after the app's own templates."""

    def __init__(self, get_manager: t.Callable[[], IntegrationManager | None]):
        self.get_manager = get_manager
        self._loaders: dict[str, FileSystemLoader] = {}

    def _folders(self) -> list[str]:
        manager = self.get_manager()
        if manager is None:
            return []
        return [
            i.template_folder
            for i in manager.get_integrations()
            if i.template_folder is not None
        ]

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, t.Callable[[], bool] | None]:
        for folder in self._folders():
            loader = self._loaders.setdefault(folder, FileSystemLoader(folder))
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)

    def list_templates(self) -> list[str]:
        names: set[str] = set()
        for folder in self._folders():
            names.update(FileSystemLoader(folder).list_templates())
        return sorted(names)
