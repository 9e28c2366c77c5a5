"""In-memory fakes of the robots' ports (``crm.domain.ports``): what they were asked is kept, so tests
assert on outcomes (the mail that went out, the SMS, the request a webhook received) without AWS.

Each fake honours the idempotency key as the real service does: the same key, the same answer and no
second effect. ``fail_next(n)`` makes the next n calls fail the way the real service can fail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crm.domain.app_robots import AppRobot
from crm.domain.documents import DocumentTemplate
from crm.domain.model import Cause, Employee, Item
from crm.domain.ports import HttpAnswer, MailDraft, NewDocument, PaymentLink, Sent, StoredDocument
from crm.domain.requisites import HeldRequisites, Holder, Requisites
from crm.domain.robots import Effects, Ports, RobotContext, RobotFailed, Run, RunState, template_values
from crm.domain.rules import Rule, RuleKind
from crm.domain.trigger_events import ItemRef


class _Failing:
    def __init__(self) -> None:
        self._failures: list[RobotFailed] = []

    def fail_next(self, times: int = 1, error: RobotFailed | None = None) -> None:
        self._failures += [error or RobotFailed(f"{type(self).__name__} is unavailable")] * times

    def _maybe_fail(self) -> None:
        if self._failures:
            raise self._failures.pop(0)


def _id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class Mail:
    tenant_id: str
    to: str
    draft: MailDraft
    item: str | None  # the item's ref for client mail, None for an employee's notification


class FakeMailer(_Failing):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Mail] = []
        self._keys: dict[str, Sent] = {}

    def _once(self, key: str, mail: Callable[[], Mail]) -> Sent:
        if key in self._keys:
            return self._keys[key]
        self._maybe_fail()
        self.sent.append(mail())
        self._keys[key] = Sent(_id(key))
        return self._keys[key]

    def send_to_client(
        self, tenant_id: str, item: Item, draft: MailDraft, *, to: str | None, idempotency_key: str
    ) -> Sent:
        if not item.emails:
            raise RobotFailed(f"{item.ref} has no email address", retryable=False)
        return self._once(idempotency_key, lambda: Mail(tenant_id, to or item.emails[0], draft, item.ref))

    def send_to_employee(
        self, tenant_id: str, employee: Employee, draft: MailDraft, *, idempotency_key: str
    ) -> Sent:
        return self._once(idempotency_key, lambda: Mail(tenant_id, employee.email, draft, None))


class FakeSms(_Failing):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []  # (to, text)
        self._keys: dict[str, Sent] = {}

    def send(self, tenant_id: str, to: str, text: str, *, idempotency_key: str) -> Sent:
        if idempotency_key not in self._keys:
            self._maybe_fail()
            self.sent.append((to, text))
            self._keys[idempotency_key] = Sent(_id(idempotency_key))
        return self._keys[idempotency_key]


@dataclass
class Request:
    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout: float


class FakeHttp(_Failing):
    """Answers each POST with the next of ``answers`` (default: 200 with ``{}``)."""

    def __init__(self, answers: Sequence[HttpAnswer] = ()) -> None:
        super().__init__()
        self.answers = list(answers)
        self.requests: list[Request] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> HttpAnswer:
        self._maybe_fail()
        self.requests.append(Request(url, body, dict(headers), timeout))
        return (
            self.answers.pop(0)
            if self.answers
            else HttpAnswer(200, {"content-type": "application/json"}, b"{}")
        )


class FakeTelephony(_Failing):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, str]] = []  # (to, text, voice)
        self._keys: dict[str, Sent] = {}

    def call_and_say(self, tenant_id: str, to: str, text: str, *, voice: str, idempotency_key: str) -> Sent:
        if idempotency_key not in self._keys:
            self._maybe_fail()
            self.calls.append((to, text, voice))
            self._keys[idempotency_key] = Sent(_id(idempotency_key))
        return self._keys[idempotency_key]


class FakePayments(_Failing):
    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, tuple[PaymentLink, int, str, str]] = {}  # key -> (link, minor, currency, text)

    def payment_link(
        self,
        tenant_id: str,
        item: Item,
        *,
        amount_minor: int,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> PaymentLink:
        if idempotency_key not in self.links:
            self._maybe_fail()
            link_id = f"cs_{_id(idempotency_key)}"
            link = PaymentLink(link_id, f"https://pay.example/{link_id}")
            self.links[idempotency_key] = (link, amount_minor, currency, description)
        return self.links[idempotency_key][0]


class FakeDocuments(_Failing):
    """The tenant's templates (``templates[(tenant, id)]``) and what was stored, once per key."""

    def __init__(self, templates: Sequence[tuple[str, DocumentTemplate]] = ()) -> None:
        super().__init__()
        self.templates = {(tenant, t.id): t for tenant, t in templates}
        self.stored: dict[str, tuple[StoredDocument, NewDocument, bytes, Cause]] = {}  # by key

    def template(self, tenant_id: str, template_id: str) -> DocumentTemplate | None:
        return self.templates.get((tenant_id, template_id))

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
        if idempotency_key not in self.stored:
            self._maybe_fail()
            doc_id = _id(idempotency_key)
            doc = StoredDocument(doc_id, f"https://crm.example/d/{doc_id}")
            self.stored[idempotency_key] = (doc, document, content, cause)
        return self.stored[idempotency_key][0]


class FakeRequisites(_Failing):
    """Requisites by (tenant, holder kind, key), versioned as the store versions them."""

    def __init__(self) -> None:
        super().__init__()
        self.held: dict[tuple[str, str, str], HeldRequisites] = {}

    def put(self, tenant_id: str, holder: Holder, requisites: Requisites) -> None:
        self.held[(tenant_id, holder.kind, holder.key)] = HeldRequisites(holder, requisites, 1, NOW, None)

    def get(self, tenant_id: str, holder: Holder) -> HeldRequisites | None:
        return self.held.get((tenant_id, holder.kind, holder.key))

    def change(
        self, tenant_id: str, holder: Holder, values: Mapping[str, str | None], *, by: str
    ) -> HeldRequisites:
        self._maybe_fail()
        before = self.get(tenant_id, holder)
        after = (before.requisites if before else Requisites()).changed(dict(values))
        if before is not None and after == before.requisites:
            return before
        held = HeldRequisites(holder, after, before.version + 1 if before else 1, NOW, by)
        self.held[(tenant_id, holder.kind, holder.key)] = held
        return held


class FakeItems:
    """Items created (once per key, numbered from 100) and deleted."""

    def __init__(self) -> None:
        self.created: dict[str, Item] = {}
        self.deleted: list[str] = []

    def create(
        self, tenant_id: str, type_code: str, values: Mapping[str, Any], *, idempotency_key: str, cause: Cause
    ) -> Item:
        if idempotency_key not in self.created:
            values = dict(values)
            self.created[idempotency_key] = Item(
                type=type_code,
                id=str(100 + len(self.created)),
                pipeline_id=values.pop("pipeline_id", "default"),
                stage_id=values.pop("stage_id", "NEW"),
                created_at=NOW,
                updated_at=NOW,
                last_change=cause,
                **values,
            )
        return self.created[idempotency_key]

    def delete(self, tenant_id: str, item: Item) -> None:
        if item.ref not in self.deleted:
            self.deleted.append(item.ref)


class FakeEmployees:
    def __init__(self, employees: Sequence[Employee] = ()) -> None:
        self.by_id = {e.id: e for e in employees}

    def get(self, tenant_id: str, employee_id: str) -> Employee | None:
        return self.by_id.get(employee_id)

    def all(self, tenant_id: str) -> Sequence[Employee]:
        return list(self.by_id.values())


class FakeTurns:
    """Round-robin turns by (pipeline, rule); ``took`` stores a turn as the runner's write would."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def taken(self, tenant_id: str, pipeline_id: str, rule_id: str) -> int:
        return self.counts.get((pipeline_id, rule_id), 0)

    def took(self, turn: Any) -> None:
        self.counts[(turn.pipeline_id, turn.rule_id)] = turn.taken


class FakeSecrets:
    """The tenants' named secrets: ``FakeSecrets({("acme", "accounting"): "whsec_..."})``."""

    def __init__(self, secrets: Mapping[tuple[str, str], str] | None = None) -> None:
        self.by_name = dict(secrets or {})

    def get(self, tenant_id: str, name: str) -> str | None:
        return self.by_name.get((tenant_id, name))


class FakeAppRobots:
    """The robots applications registered: ``FakeAppRobots([AppRobot(...)])`` for tenant acme."""

    def __init__(self, robots: Sequence[AppRobot] = (), tenant_id: str = "acme") -> None:
        self.by_code = {(tenant_id, r.code): r for r in robots}

    def get(self, tenant_id: str, code: str) -> AppRobot | None:
        return self.by_code.get((tenant_id, code))


@dataclass
class FakePorts:
    mailer: FakeMailer = field(default_factory=FakeMailer)
    sms: FakeSms = field(default_factory=FakeSms)
    http: FakeHttp = field(default_factory=FakeHttp)
    employees: FakeEmployees = field(default_factory=FakeEmployees)
    items: FakeItems = field(default_factory=FakeItems)
    telephony: FakeTelephony = field(default_factory=FakeTelephony)
    payments: FakePayments = field(default_factory=FakePayments)
    documents: FakeDocuments = field(default_factory=FakeDocuments)
    requisites: FakeRequisites = field(default_factory=FakeRequisites)
    turns: FakeTurns = field(default_factory=FakeTurns)
    secrets: FakeSecrets = field(default_factory=FakeSecrets)
    app_robots: FakeAppRobots = field(default_factory=FakeAppRobots)

    def ports(self) -> Ports:
        return Ports(
            mailer=self.mailer,
            sms=self.sms,
            http=self.http,
            employees=self.employees,
            items=self.items,
            telephony=self.telephony,
            payments=self.payments,
            documents=self.documents,
            requisites=self.requisites,
            turns=self.turns,
            secrets=self.secrets,
            app_robots=self.app_robots,
        )


NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def robot_context(
    item: Item,
    type_code: str,
    params: dict[str, Any] | None = None,
    *,
    fakes: FakePorts | None = None,
    earlier_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    responsible: Employee | None = None,
    now: datetime = NOW,
    tenant_id: str = "acme",
    rule_id: str = "r1",
    attempt: int = 1,
) -> RobotContext:
    """The context a robot of ``type_code`` gets when it runs on ``item`` (rendering as the runner does)."""
    rule = Rule(rule_id, RuleKind.ROBOT, type_code, type_code, item.stage_id, params=params or {})
    run = Run(
        id=f"run-{rule_id}",
        tenant_id=tenant_id,
        item=ItemRef(item.type, item.id),
        pipeline_id=item.pipeline_id,
        stage_id=item.stage_id,
        rule_id=rule_id,
        type_code=type_code,
        entry="entry-1",
        entered_at=now,
        planned_at=now,
        state=RunState.RUNNING,
        attempt=attempt,
        earlier_outputs=earlier_outputs or {},
    )
    return RobotContext(
        tenant_id=tenant_id,
        run=run,
        rule=rule,
        now=now,
        ports=(fakes or FakePorts()).ports(),
        values=template_values(item, responsible, earlier_outputs or {}),
        responsible=responsible,
        effects=Effects(),
    )
