"""The catalogue of trigger and robot types and the validation of a rule's parameters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

import crm
from crm.domain.errors import Invalid
from crm.domain.rules import CATALOGUE, Catalogue, RuleKind, RuleType

TRIGGER, ROBOT = RuleKind.TRIGGER, RuleKind.ROBOT


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Literal["responsible", "client", "supervisor"]


class SendEmail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipient: Recipient
    subject: str = Field(min_length=1)
    attach_invoice: bool = False


class Webhook(BaseModel):
    url: HttpUrl


class Nothing(BaseModel):
    pass


def runs_doing_nothing(context, item, params) -> dict:
    return {}


SEND_EMAIL = RuleType(
    "send_email",
    ROBOT,
    "Send email",
    SendEmail,
    "Mails the client or an employee",
    run=runs_doing_nothing,
    outputs=Nothing,
)
WEBHOOK_ROBOT = RuleType("webhook", ROBOT, "Call a webhook", Webhook, run=runs_doing_nothing, outputs=Nothing)


def every_event(data: Nothing, params: Nothing) -> bool:
    return True


WEBHOOK_TRIGGER = RuleType("webhook", TRIGGER, "Incoming webhook", Nothing, "", Nothing, every_event)
EMAIL_OPENED = RuleType("email_opened", TRIGGER, "Email opened", Nothing, "", Nothing, every_event)


@pytest.fixture
def catalogue() -> Catalogue:
    catalogue = Catalogue()
    for rule_type in (WEBHOOK_ROBOT, SEND_EMAIL, WEBHOOK_TRIGGER, EMAIL_OPENED):
        catalogue.register(rule_type)
    return catalogue


def refused(catalogue: Catalogue, code: str, params: dict) -> str:
    with pytest.raises(Invalid) as error:
        catalogue.validated_params(ROBOT, code, params)
    return str(error.value)


def test_a_registered_type_is_found_by_kind_and_code(catalogue):
    assert catalogue.get(ROBOT, "send_email") is SEND_EMAIL
    assert catalogue.get(TRIGGER, "webhook") is WEBHOOK_TRIGGER
    assert catalogue.get(ROBOT, "webhook") is WEBHOOK_ROBOT


def test_register_returns_the_type_so_a_module_can_keep_it():
    assert Catalogue().register(SEND_EMAIL) is SEND_EMAIL


def test_types_are_listed_by_kind_and_code(catalogue):
    assert [t.code for t in catalogue.types(TRIGGER)] == ["email_opened", "webhook"]
    assert [t.code for t in catalogue.types(ROBOT)] == ["send_email", "webhook"]
    assert [(t.kind, t.code) for t in catalogue.types()] == [
        (ROBOT, "send_email"),
        (ROBOT, "webhook"),
        (TRIGGER, "email_opened"),
        (TRIGGER, "webhook"),
    ]


def test_a_type_is_registered_once(catalogue):
    with pytest.raises(ValueError, match="robot type send_email is registered twice"):
        catalogue.register(
            RuleType("send_email", ROBOT, "Another mailer", Nothing, run=runs_doing_nothing, outputs=Nothing)
        )
    assert catalogue.get(ROBOT, "send_email") is SEND_EMAIL


def test_an_unknown_type_is_invalid_and_lists_the_known_ones_of_its_kind(catalogue):
    with pytest.raises(Invalid) as error:
        catalogue.get(TRIGGER, "fax_received")
    assert str(error.value) == "unknown trigger type 'fax_received'; known types: ['email_opened', 'webhook']"


def test_a_type_of_the_other_kind_is_unknown(catalogue):
    with pytest.raises(Invalid, match=r"unknown trigger type 'send_email'"):
        catalogue.get(TRIGGER, "send_email")


def test_an_empty_catalogue_knows_no_types():
    with pytest.raises(Invalid, match=r"known types: \[\]"):
        Catalogue().validated_params(ROBOT, "send_email", {})


def test_valid_params_come_back_in_json_form_with_defaults(catalogue):
    assert catalogue.validated_params(
        ROBOT, "send_email", {"recipient": {"to": "client"}, "subject": "Hi"}
    ) == {
        "recipient": {"to": "client"},
        "subject": "Hi",
        "attach_invoice": False,
    }
    assert catalogue.validated_params(ROBOT, "webhook", {"url": "https://hooks.example.com/x"}) == {
        "url": "https://hooks.example.com/x"
    }


def test_a_missing_param_is_named(catalogue):
    assert refused(catalogue, "send_email", {"recipient": {"to": "client"}}) == (
        "params of robot type 'send_email': subject: Field required"
    )


def test_every_problem_is_listed_with_its_location(catalogue):
    message = refused(catalogue, "send_email", {"recipient": {"to": "cat"}, "subject": "", "bcc": "x"})
    assert message.startswith("params of robot type 'send_email': ")
    problems = message.removeprefix("params of robot type 'send_email': ").split("; ")
    assert len(problems) == 3
    assert problems[0].startswith("recipient.to: Input should be 'responsible', 'client' or 'supervisor'")
    assert problems[1].startswith("subject: String should have at least 1 character")
    assert problems[2] == "bcc: Extra inputs are not permitted"


def test_a_wrong_value_type_is_readable(catalogue):
    message = refused(catalogue, "webhook", {"url": "not a url"})
    assert message.startswith("params of robot type 'webhook': url: Input should be a valid URL")


def test_params_of_an_unknown_type_are_refused_as_an_unknown_type(catalogue):
    with pytest.raises(Invalid, match="unknown robot type 'fax'"):
        catalogue.validated_params(ROBOT, "fax", {})


def test_a_type_describes_itself_with_its_params_schema():
    description = SEND_EMAIL.describe()
    assert {k: v for k, v in description.items() if k != "params_schema"} == {
        "code": "send_email",
        "kind": "robot",
        "title": "Send email",
        "description": "Mails the client or an employee",
        "outputs_schema": Nothing.model_json_schema(),
    }
    assert description["params_schema"]["required"] == ["recipient", "subject"]
    assert set(description["params_schema"]["properties"]) == {"recipient", "subject", "attach_invoice"}


def test_every_type_in_the_application_catalogue_describes_itself():
    for rule_type in CATALOGUE.types():
        described = rule_type.describe()
        assert described["kind"] in ("trigger", "robot")
        assert described["params_schema"]["type"] == "object"


def test_a_robot_type_says_how_it_runs_and_what_it_outputs_and_a_trigger_type_does_not():
    with pytest.raises(ValueError, match="a robot type has run and outputs"):
        RuleType("send_sms", ROBOT, "Send SMS", Nothing)
    with pytest.raises(ValueError, match="a robot type has run and outputs"):
        RuleType(
            "opened",
            TRIGGER,
            "Opened",
            Nothing,
            "",
            Nothing,
            every_event,
            run=runs_doing_nothing,
            outputs=Nothing,
        )


def test_each_type_of_the_application_is_the_module_named_after_its_code():
    helpers = {TRIGGER: {"filters"}, ROBOT: {"inside", "outside", "web"}}
    for kind in (TRIGGER, ROBOT):
        assert {t.code for t in CATALOGUE.types(kind)} == CATALOGUE.modules(kind) - helpers[kind]


def test_asking_for_a_type_loads_its_module_alone():
    # A fresh interpreter: this one's tests have loaded every type already.
    asked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from crm.domain.rules import CATALOGUE, RuleKind;"
            "CATALOGUE.get(RuleKind.TRIGGER, 'webhook');"
            "print(sorted(m for m in sys.modules if m.startswith(('crm.triggers.', 'crm.robots.'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(crm.__file__).parent.parent)},
    )
    assert asked.stdout.strip() == "['crm.triggers.filters', 'crm.triggers.webhook']"


def test_an_unknown_code_is_refused_without_importing_anything_by_that_name():
    with pytest.raises(Invalid, match=r"unknown trigger type 'os\.path'"):
        CATALOGUE.get(TRIGGER, "os.path")
    with pytest.raises(Invalid, match="unknown robot type 'filters'"):
        CATALOGUE.get(ROBOT, "filters")
