"""Webforms: forms as tenant configuration, their embeddable snippet and what was sent through them.
The public side (the hosted page, submissions) is ``/forms/{form_id}``, served by its own function."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from crm.api.context import tenant_id
from crm.api.schemas import Body, Cursor, Flag, Id, Limit, Name
from crm.api.urls import public_url
from crm.domain.forms import (
    DEFAULT_HONEYPOT,
    DEFAULT_RATE,
    FIELD_NAME_PATTERN,
    FORM_ID_PATTERN,
    MAX_FIELDS,
    MAX_ORIGINS,
    MAX_RATE,
    Form,
)
from crm.domain.urls import MAX_LENGTH as MAX_URL
from crm.service import forms

router = Router()

FormId = Annotated[str, Path(pattern=FORM_ID_PATTERN.pattern, description="f_{tenant}_{12 hex digits}")]
FieldName = Annotated[str, Field(pattern=FIELD_NAME_PATTERN.pattern)]
MapsTo = Annotated[
    str,
    Field(
        pattern=r"^(title|emails|phones|company|amount|fields\.[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$",
        description="where the value goes on the item: title (several fields are joined), emails, "
        "phones, company, amount, or fields.<code> (a custom field of the item type)",
    ),
]


class FormFieldIn(Body):
    name: FieldName = Field(description="the input's name in the form and in a posted body")
    label: Name
    type: Literal["text", "textarea", "email", "phone", "number"] = "text"
    required: Flag = False
    maps_to: MapsTo = "title"


class FormIn(Body):
    name: Name
    kind: Literal["form", "callback"] = Field(
        "form", description="form: fires *CRM form filled* triggers; callback: *callback form filled*"
    )
    fields: Annotated[list[FormFieldIn], Field(min_length=1, max_length=MAX_FIELDS)]
    item_type: Id = Field("lead", description="the type of the item an unknown contact's submission creates")
    pipeline_id: Id = Field(description="the pipeline that item starts in (its first stage)")
    dedupe: Flag = Field(
        True,
        description="true: a known contact's (first email, else phone) open items get the event; "
        "false: every submission creates an item",
    )
    allowed_origins: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=MAX_ORIGINS)] = (
        Field([], description="sites that may post the form from a browser, like https://www.example.com")
    )
    honeypot: FieldName = Field(DEFAULT_HONEYPOT, description="a hidden field only bots fill in")
    rate_limit: Annotated[int, Field(strict=True, ge=1, le=MAX_RATE)] = Field(
        DEFAULT_RATE, description="submissions a minute the form takes; more are answered 429"
    )
    thank_you_url: Annotated[str, Field(max_length=MAX_URL)] | None = Field(
        None, description="where a browser goes after posting (default: the hosted thank-you page)"
    )
    responsible_id: Id | None = Field(None, description="the employee responsible for items it creates")


class FormFieldOut(BaseModel):
    name: str
    label: str
    type: str
    required: bool
    maps_to: str


class FormOut(BaseModel):
    id: str
    name: str
    kind: str
    fields: list[FormFieldOut]
    item_type: str
    pipeline_id: str
    dedupe: bool
    allowed_origins: list[str]
    honeypot: str
    rate_limit: int
    thank_you_url: str | None
    responsible_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    url: str = Field(description="the public address: the hosted page (GET) and where submissions go (POST)")

    @classmethod
    def of(cls, form: Form) -> FormOut:
        return cls.model_validate({**form.to_dict(), "url": _public_url(form.id)})


class SnippetOut(BaseModel):
    form_id: str
    url: str
    html: str = Field(description="paste where the form goes; the site's origin must be in allowed_origins")


class SubmissionOut(BaseModel):
    event_id: str = Field(description="the submission's id (its trigger event's), as the journal names it")
    at: datetime
    values: dict[str, Any]
    ip: str


class SubmissionsPage(BaseModel):
    entries: list[SubmissionOut]
    cursor: str | None = Field(None, description="pass as ?cursor= for the next page")


def _public_url(form_id: str) -> str:
    return public_url(router, f"/forms/{form_id}")


@router.post("/automation/forms", tags=["forms"], status_code=201)
def create(body: FormIn) -> FormOut:
    """A new form; its id (f_{tenant}_{random}) is in its public URL."""
    return FormOut.of(forms.create_form(tenant_id(router), body.model_dump()))


@router.get("/automation/forms", tags=["forms"])
def listed() -> list[FormOut]:
    return [FormOut.of(form) for form in forms.forms(tenant_id(router))]


@router.get("/automation/forms/<form_id>", tags=["forms"])
def get(form_id: FormId) -> FormOut:
    return FormOut.of(forms.get_form(tenant_id(router), form_id))


@router.put("/automation/forms/<form_id>", tags=["forms"])
def replace(form_id: FormId, body: FormIn) -> FormOut:
    """The form's settings replaced (its id, URL and submissions stay)."""
    return FormOut.of(forms.replace_form(tenant_id(router), form_id, body.model_dump()))


@router.delete("/automation/forms/<form_id>", tags=["forms"], status_code=204)
def delete(form_id: FormId) -> None:
    """Refused (409) while triggers name the form."""
    forms.delete_form(tenant_id(router), form_id)
    return Response(204)


@router.get("/automation/forms/<form_id>/snippet", tags=["forms"])
def embeddable(form_id: FormId) -> SnippetOut:
    """The HTML to embed the form in a site: the form posting to its public URL, with the honeypot
    hidden and a nonce set by a two-line script (without script it still posts)."""
    url = _public_url(form_id)
    return SnippetOut(form_id=form_id, url=url, html=forms.snippet(tenant_id(router), form_id, url))


@router.get("/automation/forms/<form_id>/submissions", tags=["forms"])
def sent(form_id: FormId, limit: Limit = 50, cursor: Cursor = None) -> SubmissionsPage:
    """What was sent through the form, newest first, whatever its triggers did (bots' posts
    excluded); the journal (GET /journal?source=webform) says what each did."""
    entries, next_cursor = forms.submissions(tenant_id(router), form_id, limit, cursor)
    return SubmissionsPage(entries=[SubmissionOut.model_validate(e) for e in entries], cursor=next_cursor)
