"""Form fields for configuration forms."""

from __future__ import annotations

import typing as t

from wtforms import StringField
from wtforms.validators import ValidationError
from wtforms.widgets import URLInput

from .errors import OutboundNetworkError, UnsafeURLError
from .i18n import gettext
from .outbound import check_url

__all__ = ["OutboundURLField"]


class OutboundURLField(StringField):  # type: ignore[misc]
    """A URL the framework will send requests to, e.g. a webhook URL.

    When the form is validated, a non-empty value must pass
    :func:`~flask_integrations.outbound.check_url`: ``http`` or ``https``,
    no credentials, and a host whose addresses are all public (or admitted
    by ``INTEGRATIONS_OUTBOUND_ALLOWLIST``), resolved with the same resolver
    the client uses (``INTEGRATIONS_OUTBOUND_RESOLVER`` in tests). The check
    runs after the field's own validators, so add
    :class:`~wtforms.validators.InputRequired` or
    :class:`~wtforms.validators.Optional` as usual. The value is stripped of
    surrounding white space.

    :class:`~flask_integrations.outbound.OutboundClient` checks the URL again
    when sending: its host may resolve elsewhere by then.
    """

    widget = URLInput()
    data: t.Any

    def process_formdata(self, valuelist: list[t.Any]) -> None:
        if valuelist:
            self.data = str(valuelist[0]).strip()

    def post_validate(self, form: t.Any, validation_stopped: bool) -> None:
        if validation_stopped or self.errors or not self.data:
            return
        try:
            check_url(self.data)
        except UnsafeURLError as exc:
            raise ValidationError(str(exc)) from exc
        except OutboundNetworkError as exc:
            raise ValidationError(
                gettext(
                    "The host of this URL could not be looked up right now (%(error)s)."
                    " Try again in a moment.",
                    error=str(exc.__cause__ or exc),
                )
            ) from exc
