"""The ports robots act through: the outside world (mail, SMS, HTTP, telephony, payments, documents)
as small protocols, so that a robot and the use-cases that run it are tested on in-memory fakes and
the AWS and provider implementations (``crm.adapters``) are proved once on their own.

Every effect takes an ``idempotency_key`` (the robot run's id and the effect's name): a run that is
retried after its effect went out repeats it with the same key, and a port whose service honours
keys (SES through the CRM mail's once-record, Stripe's ``Idempotency-Key``, the outgoing webhook's
``X-Idempotency-Key`` header) makes it happen once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from crm.domain.app_robots import AppRobot
from crm.domain.documents import DocumentKind, DocumentTemplate
from crm.domain.model import Cause, Employee, Item
from crm.domain.requisites import HeldRequisites, Holder


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class MailDraft:
    subject: str
    text: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Sent:
    """What a port answers for an effect that went out: the service's id for it."""

    id: str
    details: Mapping[str, object] = field(default_factory=dict)


class Mailer(Protocol):
    def send_to_client(
        self, tenant_id: str, item: Item, draft: MailDraft, *, to: str | None, idempotency_key: str
    ) -> Sent:
        """The CRM mail of "Triggers I": tracked, threaded, recorded on the item's timeline."""

    def send_to_employee(
        self, tenant_id: str, employee: Employee, draft: MailDraft, *, idempotency_key: str
    ) -> Sent:
        """A notification to an employee's own address (not tracked, not on the client's thread)."""


class Sms(Protocol):
    def send(self, tenant_id: str, to: str, text: str, *, idempotency_key: str) -> Sent:
        """``to`` in E.164."""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Http(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> HttpAnswer:
        """One POST; a network failure or a timeout raises ``crm.domain.robots.RobotFailed``."""


class Telephony(Protocol):
    def call_and_say(
        self, tenant_id: str, to: str, text: str, *, voice: str, idempotency_key: str
    ) -> Sent: ...


@dataclass(frozen=True)
class PaymentLink:
    id: str
    url: str


class Payments(Protocol):
    def payment_link(
        self,
        tenant_id: str,
        item: Item,
        *,
        amount_minor: int,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> PaymentLink: ...


@dataclass(frozen=True)
class StoredDocument:
    id: str
    url: str  # the CRM's public view link (``/d/{token}``): it outlives the storage's signed URLs


class Documents(Protocol):
    """Generated documents: the tenant's templates, and storing a document on its item."""

    def template(self, tenant_id: str, template_id: str) -> DocumentTemplate | None:
        """The tenant's document template; None when there is none by that id."""

    def store(
        self,
        tenant_id: str,
        item: Item,
        document: NewDocument,
        content: bytes,
        *,
        idempotency_key: str,
        cause: Cause,
    ) -> StoredDocument:
        """The content stored and the document recorded on the item, once per key (a retry stores
        the same document again and records nothing new); fires *document created* for the item,
        continuing ``cause``'s chain."""


@dataclass(frozen=True)
class NewDocument:
    kind: DocumentKind
    name: str  # a file name
    content_type: str
    template_id: str | None = None


class RequisitesBook(Protocol):
    """The requisites of companies and contacts (``crm.domain.requisites``)."""

    def get(self, tenant_id: str, holder: Holder) -> HeldRequisites | None: ...

    def change(
        self, tenant_id: str, holder: Holder, values: Mapping[str, str | None], *, by: str
    ) -> HeldRequisites:
        """The holder's requisites with ``values`` set (the others kept); the same values set again
        change nothing, so a retried run does no harm."""


class Items(Protocol):
    """Other items of the tenant: what copying, converting and deleting robots do."""

    def create(
        self,
        tenant_id: str,
        type_code: str,
        values: Mapping[str, object],
        *,
        idempotency_key: str,
        cause: Cause,
    ) -> Item:
        """Created once per key: a retry answers the item the first call created. ``cause`` (the
        robot and its chain) goes with the new item, so that robots creating items that create
        items stop at the chain bound as moves do."""

    def delete(self, tenant_id: str, item: Item) -> None:
        """Deleting an item that is gone already is done."""


class Secrets(Protocol):
    """The tenant's named secrets (the key an outgoing webhook signs with): set through the API and
    never shown back by it, so a robot's params name a secret rather than hold it."""

    def get(self, tenant_id: str, name: str) -> str | None: ...


class Employees(Protocol):
    """The tenant's employees as robots need them (a warm container keeps them)."""

    def get(self, tenant_id: str, employee_id: str) -> Employee | None: ...

    def all(self, tenant_id: str) -> Sequence[Employee]: ...


class Turns(Protocol):
    """Round-robin robots' turns (``crm.domain.work.Turn``): how many a robot has taken so far."""

    def taken(self, tenant_id: str, pipeline_id: str, rule_id: str) -> int: ...


class AppRobots(Protocol):
    """The robots applications registered (``crm.domain.app_robots``), as the runner sees them."""

    def get(self, tenant_id: str, code: str) -> AppRobot | None: ...
