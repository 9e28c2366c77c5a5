"""User templates (a robot's subject, body and text params) rendered in Jinja2's sandbox.

Tenants write these templates, so they are untrusted code: the sandbox refuses unsafe attribute
access, ``range`` is bounded, and the output is capped. A value that is missing renders empty rather
than failing the robot (a deal without a company still gets its mail), as CRM placeholders do.
A template that does not parse is refused when the robot is saved (``check``), not when it runs.

Three renderings, by where the text goes: ``text`` (plain), ``html`` (every value escaped, so a
contact's name cannot inject markup), and ``header`` (CR and LF removed, so a value rendered into a
mail header cannot add a header).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from crm.domain.errors import Invalid

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

MAX_TEMPLATE = 20_000
MAX_OUTPUT = 200_000


@cache
def _environment(autoescape: bool) -> SandboxedEnvironment:
    # jinja2 is imported on the first template: most functions that import this module (through the
    # robots' domain) never render one, and would pay for it in every cold start.
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import SandboxedEnvironment

    # ``finalize``: an empty value (a deal without a company) prints as nothing, not "None".
    return SandboxedEnvironment(
        autoescape=autoescape,
        undefined=ChainableUndefined,
        keep_trailing_newline=True,
        finalize=lambda value: "" if value is None else value,
    )


def _template_error() -> type[Exception]:
    from jinja2 import TemplateError  # loaded by then: only a template raises it

    return TemplateError


def check(source: str, what: str) -> str:
    """``source`` if it is a template that parses; Invalid naming ``what`` otherwise."""
    if len(source) > MAX_TEMPLATE:
        raise Invalid(f"{what}: a template has at most {MAX_TEMPLATE} characters")
    try:
        _environment(False).parse(source)
    except _template_error() as error:
        raise Invalid(f"{what}: not a valid template: {error}") from None
    return source


def _render(source: str, values: Mapping[str, Any], autoescape: bool) -> str:
    if "{" not in source:
        return source  # no placeholder: nothing to render (most params)
    template = _environment(autoescape).from_string(check(source, "template"))
    try:
        rendered = template.render(values)
    except (_template_error(), ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as error:
        # The sandbox's refusals (unsafe access, a range too long) and what the tenant's template
        # itself does wrong ({{ 1/0 }}, {{ "a" + 1 }}, {{ item.title|int }}): the robot fails with the
        # reason, for good (the same template fails again), and the runner goes on.
        raise Invalid(f"the template could not be rendered: {type(error).__name__}: {error}") from None
    if len(rendered) > MAX_OUTPUT:
        raise Invalid(f"the rendered template is longer than {MAX_OUTPUT} characters")
    return rendered


def text(source: str, values: Mapping[str, Any]) -> str:
    return _render(source, values, autoescape=False)


def html(source: str, values: Mapping[str, Any]) -> str:
    return _render(source, values, autoescape=True)


def header(source: str, values: Mapping[str, Any]) -> str:
    """One header line: CR, LF and the other line breaks become spaces."""
    return " ".join(_render(source, values, autoescape=False).splitlines()).strip()
