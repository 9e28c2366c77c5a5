"""What the robots that reach the client outside the CRM share: rendering a template the way its
channel needs it (text, HTML, a header line), failing the run rather than the runner, and the
choice of the item's email or phone a robot addresses. (The params' base and ``Template`` are
``crm.robots.inside``'s.)"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated

from pydantic import AfterValidator

from crm.domain.contacts import EMAIL_PATTERN
from crm.domain.errors import Invalid
from crm.domain.model import Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.robots.inside import Template

# What a phone number is when it is stored: E.164, at most 15 digits after the '+'.
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What people write between a number's digits ("+49 30 1234-56"), ignored when numbers are compared.
_SEPARATORS = re.compile(r"[\s().-]")


def _phone(to: str) -> str:
    if "{" not in to and not E164.match(_SEPARATORS.sub("", to)):
        raise ValueError("a phone number in E.164 (+49 30 123456), or a template giving one")
    return to


def _email(to: str) -> str:
    if "{" not in to and not EMAIL_PATTERN.match(to.strip()):
        raise ValueError("an email address, or a template giving one")
    return to


# Whom a robot addresses, when not the item's first phone or email: a template, or one written out
# (checked when the robot is saved; either way it must be one of the item's own when it runs).
PhoneTemplate = Annotated[Template, AfterValidator(_phone)]
EmailTemplate = Annotated[Template, AfterValidator(_email)]


def rendered(render: Callable[[str], str], source: str, what: str) -> str:
    """``source`` rendered by one of the context's renderings; a template the sandbox refuses fails
    the run for good (another attempt renders it the same way)."""
    try:
        return render(source)
    except Invalid as error:
        raise RobotFailed(f"{what}: {error}", retryable=False) from None


def within(
    text: str, limit: int, what: str, size: Callable[[str], int] = len, unit: str = "characters"
) -> str:
    """A rendered text that is not empty and fits its channel (``limit`` ``unit`` as ``size``
    counts them); a failure for good otherwise."""
    if not text.strip():
        raise RobotFailed(f"{what}: rendered empty", retryable=False)
    if (measured := size(text)) > limit:
        raise RobotFailed(f"{what}: {measured} {unit} rendered, at most {limit}", retryable=False)
    return text


def recipient(
    ctx: RobotContext, offered: Sequence[str], to: str | None, kind: str, same: Callable[[str], str]
) -> str:
    """The contact a robot addresses: the item's first ``kind`` (email, phone), or the one ``to``
    renders to, which must be one of the item's own, so that a robot cannot write to anyone else.
    ``same`` puts a value in the form two of them are compared in."""
    if not offered:
        raise RobotFailed(f"{ctx.run.item} has no {kind}", retryable=False)
    if to is None:
        return offered[0]
    wanted = within(rendered(ctx.header, to, "to"), 254, "to")
    for value in offered:
        if same(value) == same(wanted):
            return value
    raise RobotFailed(f"to: {wanted!r} is not one of the item's {kind}s", retryable=False)


def client_email(ctx: RobotContext, item: Item, to: str | None) -> str:
    return recipient(ctx, item.emails, to, "email", lambda email: email.strip().casefold())


def client_phone(ctx: RobotContext, item: Item, to: str | None) -> str:
    """The item's phone a robot reaches the client on, in E.164 as phones are stored; a number
    stored otherwise (by an older version) is refused rather than guessed at."""
    phone = recipient(ctx, item.phones, to, "phone", lambda phone: _SEPARATORS.sub("", phone))
    if not E164.match(phone):
        raise RobotFailed(f"{phone!r} is not a phone number in E.164 (+4930123456)", retryable=False)
    return phone
