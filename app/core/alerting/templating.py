"""Annotation templates (Jinja2, sandboxed): what a rule author writes, rendered safely.

Templates are checked when a rule loads (syntax) and rendered with a fixed context:
``labels``, ``value``, ``threshold``, ``comparison``, ``window``, ``rule``, ``baseline``.
A template that fails to render raises ``TemplateFailure`` (the agent dead-letters it with
the rule's name) instead of sending half a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                            keep_trailing_newline=False)


class TemplateFailure(ValueError):
    """A template did not compile or render."""


def check_template(text: str) -> None:
    try:
        _ENV.from_string(text)
    except TemplateError as exc:
        raise TemplateFailure(f"template does not compile: {exc}") from None


def render(text: str, context: Mapping[str, Any]) -> str:
    try:
        return _ENV.from_string(text).render(**context)
    except TemplateError as exc:
        raise TemplateFailure(f"template {text!r} failed: {exc}") from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateFailure(f"template {text!r} failed: {exc}") from None
