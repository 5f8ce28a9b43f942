"""Message templates: what an administrator writes to word a message, or
shape a JSON body, per configuration.

A template is Jinja, run in Jinja's sandboxed environment (no access to
Python internals) over one event: ``payload`` is the event's JSON payload,
``event`` its name, and each top-level key of an object payload is a
variable of its own::

    {{ event }}: {{ title }} ({{ payload.priority|upper }})

Rendering is bounded: it stops after :data:`RENDER_TIMEOUT` seconds (checked
at every loop iteration, block and call) and when the output, or a string
being built, passes :data:`MAX_OUTPUT` characters. A template that fails,
runs too long or renders nothing gives the caller's default message instead,
with the reason (:class:`RenderedMessage`). Check a template when it is
typed with :func:`check_template`, or use
:class:`~flask_integrations.MessageTemplateField`, which does.
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
import time
import typing as t
from dataclasses import dataclass

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import do_center, do_format, do_indent
from jinja2.sandbox import SandboxedEnvironment

from .errors import InvalidTemplateError
from .i18n import gettext

__all__ = [
    "MAX_OUTPUT",
    "MAX_TEMPLATE_LENGTH",
    "RENDER_TIMEOUT",
    "MessageTemplate",
    "RenderedMessage",
    "check_template",
]

#: How long one rendering may take, in seconds.
RENDER_TIMEOUT = 0.2

#: The most characters a rendering may produce (or build in one string).
MAX_OUTPUT = 40_000

#: The longest template accepted.
MAX_TEMPLATE_LENGTH = 20_000

#: The biggest integer ``**`` may produce, in bits.
_MAX_POWER_BITS = 4096

# A width or precision of 6 digits or more, or taken from an argument, in a
# %-format or a str.format() field: it would build a huge string at once.
_WIDE_FORMAT = re.compile(
    r"%[-#0 +]*(?:\*|\d{6,}|\d*\.(?:\*|\d{6,}))|\{[^{}]*:[^{}]*(?:\{|\d{6,})"
)

_Limits = tuple[float, int]
_limits: contextvars.ContextVar[_Limits] = contextvars.ContextVar(
    "flask_integrations_template_limits", default=(float("inf"), MAX_OUTPUT)
)


class _TemplateTimeout(Exception):
    pass


class _TooLong(Exception):
    pass


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, plus a time check at the start of every
    block (each loop iteration, branch and macro call) and a size check on
    every ``~`` concatenation."""

    def blockvisit(self, nodes: t.Iterable[nodes.Node], frame: Frame) -> None:
        self.writeline("environment.tick()")
        super().blockvisit(nodes, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class MessageEnvironment(SandboxedEnvironment):
    """The sandboxed Jinja environment of message templates: undefined
    values render as nothing (also their attributes), and rendering is
    bounded in time and size."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=ChainableUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.filters["center"] = _checked(do_center)
        self.filters["indent"] = _checked(do_indent)
        self.filters["format"] = _checked_format

    def tick(self) -> None:
        """Stop the rendering once its time is up."""
        if time.monotonic() > _limits.get()[0]:
            raise _TemplateTimeout

    def bounded_concat(self, value: str) -> str:
        """Return ``value`` unless it is longer than the rendering may be."""
        _check_size(value)
        return value

    def call_binop(
        self, context: t.Any, operator: str, left: t.Any, right: t.Any
    ) -> t.Any:
        self.tick()
        if operator == "**" and _power_too_big(left, right):
            raise SecurityError("the result of '**' would be too big")
        if operator == "%" and isinstance(left, str):
            _check_format(left)
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, (str, list, tuple)):
            _check_size(result)
        return result

    def call(
        __self,
        __context: t.Any,
        __obj: t.Any,
        *args: t.Any,
        **kwargs: t.Any,
    ) -> t.Any:
        __self.tick()
        if isinstance(getattr(__obj, "__self__", None), str):
            # str.center(), ljust(), zfill()... build their result at once.
            for arg in (*args, *kwargs.values()):
                if isinstance(arg, int) and arg > _limits.get()[1]:
                    raise _TooLong
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: t.Any) -> t.Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped


def _check_size(value: t.Sized) -> None:
    if len(value) > _limits.get()[1]:
        raise _TooLong


def _check_repeat(sequence: t.Any, count: t.Any) -> None:
    if (
        isinstance(sequence, (str, list, tuple))
        and isinstance(count, int)
        and len(sequence) * count > _limits.get()[1]
    ):
        raise _TooLong


def _power_too_big(left: t.Any, right: t.Any) -> bool:
    if not isinstance(left, int) or not isinstance(right, int) or right <= 0:
        return False
    return abs(left) > 1 and right * abs(left).bit_length() > _MAX_POWER_BITS


def _check_format(text: str) -> None:
    if _WIDE_FORMAT.search(text):
        raise SecurityError("format widths of 100000 or more are not allowed")


def _checked(filter_function: t.Callable[..., str]) -> t.Callable[..., str]:
    """Wrap a filter whose first argument is a width, such as ``center``."""

    @functools.wraps(filter_function)
    def checked(value: t.Any, *args: t.Any, **kwargs: t.Any) -> str:
        width = kwargs.get("width", args[0] if args else 0)
        if isinstance(width, int) and width > _limits.get()[1]:
            raise _TooLong
        return filter_function(value, *args, **kwargs)

    return checked


def _checked_format(value: t.Any, *args: t.Any, **kwargs: t.Any) -> str:
    _check_format(str(value))
    return do_format(value, *args, **kwargs)


_environment = MessageEnvironment()


@functools.lru_cache(maxsize=256)
def _compile(source: str) -> t.Any:
    if len(source) > MAX_TEMPLATE_LENGTH:
        raise InvalidTemplateError(
            gettext(
                "The template is longer than %(max)s characters.",
                max=MAX_TEMPLATE_LENGTH,
            )
        )
    try:
        return _environment.from_string(source)
    except TemplateSyntaxError as exc:
        raise InvalidTemplateError(
            gettext("Line %(line)s: %(error)s", line=exc.lineno, error=exc.message),
            exc.lineno,
        ) from exc


def check_template(source: str) -> None:
    """Check that ``source`` is a valid message template.

    :raises InvalidTemplateError: It is not: the message names the line and
        the fault.
    """
    _compile(source)


@dataclass(frozen=True)
class RenderedMessage:
    """What :meth:`MessageTemplate.render` gives.

    :param text: The rendered text, or the default one when rendering
        failed.
    :param fallback_reason: Why the default was used; ``None`` when the
        template rendered.
    """

    text: str
    fallback_reason: str | None = None

    @property
    def fell_back(self) -> bool:
        """Whether ``text`` is the default instead of the rendering."""
        return self.fallback_reason is not None


class MessageTemplate:
    """A checked message template.

    :param source: The template's Jinja text.
    :param kind: ``"text"`` for a message, or ``"json"`` when the output must
        be a JSON document (such as a request body; use the ``tojson``
        filter to write values).
    :raises InvalidTemplateError: The template is not valid.
    """

    def __init__(self, source: str, kind: t.Literal["text", "json"] = "text") -> None:
        self.source = source
        self.kind = kind
        self._template = _compile(source)

    def render(
        self,
        payload: t.Any,
        *,
        default: str,
        event: str | None = None,
        timeout: float = RENDER_TIMEOUT,
        max_length: int = MAX_OUTPUT,
    ) -> RenderedMessage:
        """Render the template over an event, or give ``default`` and the
        reason when it fails, takes longer than ``timeout`` seconds,
        produces more than ``max_length`` characters, renders only white
        space, or (``json``) does not produce JSON. Never raises for the
        template's sake.

        :param payload: The event's JSON payload.
        :param default: The message to use instead.
        :param event: The event's name.
        """
        token = _limits.set((time.monotonic() + timeout, max_length))
        try:
            text = self._render(payload, event, max_length)
        except _TemplateTimeout:
            return RenderedMessage(default, _timeout_reason(timeout))
        except _TooLong:
            return RenderedMessage(default, _length_reason(max_length))
        except Exception as exc:
            return RenderedMessage(default, _failure_reason(exc))
        finally:
            _limits.reset(token)
        problem = self._check_output(text)
        if problem is not None:
            return RenderedMessage(default, problem)
        return RenderedMessage(text)

    def _render(self, payload: t.Any, event: str | None, max_length: int) -> str:
        context: dict[str, t.Any] = {}
        if isinstance(payload, dict):
            context.update(
                (k, v)
                for k, v in payload.items()
                if isinstance(k, str) and k.isidentifier()
            )
        context.update(payload=payload, event=event)
        chunks = []
        size = 0
        for chunk in self._template.generate(context):
            size += len(chunk)
            if size > max_length:
                raise _TooLong
            chunks.append(chunk)
            _environment.tick()
        return "".join(chunks)

    def _check_output(self, text: str) -> str | None:
        if not text.strip():
            return gettext("The template rendered nothing.")
        if self.kind == "json":
            try:
                json.loads(text)
            except ValueError as exc:
                return gettext(
                    "The template did not produce valid JSON (%(error)s).", error=exc
                )
        return None


def _timeout_reason(timeout: float) -> str:
    return gettext(
        "The template took longer than %(seconds)s s to render.", seconds=timeout
    )


def _length_reason(max_length: int) -> str:
    return gettext(
        "The template produced more than %(max)s characters.", max=max_length
    )


def _failure_reason(exc: Exception) -> str:
    line = _template_line(exc)
    message = f"{type(exc).__name__}: {exc}"
    if line is None:
        return gettext("The template failed: %(error)s", error=message)
    return gettext(
        "The template failed at line %(line)s: %(error)s", line=line, error=message
    )


def _template_line(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
