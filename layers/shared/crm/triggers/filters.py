"""What trigger types share: the base of their params and event data, ids, codes, the URL filter
of *link clicked* and *site visit*, and the line filter and call data of the call triggers."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm.domain import endpoints
from crm.domain.model import ID_PATTERN, TRIGGER_CODE_PATTERN


class Params(BaseModel):
    """A trigger's settings: unknown keys are refused, so a typing mistake cannot disable a filter."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EventData(BaseModel):
    """What a source puts in an event's ``data`` for triggers of one type to filter on."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    """Every event of the type fires the trigger; its condition may still narrow it."""


def always(data: EventData, params: NoParams) -> bool:
    return True


# Forms, resources, employees: ids in the CRM's id alphabet.
Id = Annotated[str, Field(pattern=ID_PATTERN.pattern)]
Code = Annotated[str, Field(pattern=TRIGGER_CODE_PATTERN.pattern)]
# A mail's Message-ID (a header line is at most 998 characters).
MessageId = Annotated[str, Field(min_length=1, max_length=998)]
Url = Annotated[str, Field(min_length=1, max_length=8192)]
# An id filter lists at most this many ids; none means any.
MAX_IDS = 50


class UrlFilter(Params):
    """Any URL (no ``url``), or the URL the trigger names: the same page (``exact``), a page under it
    (``prefix``), or any URL containing a text (``contains``, case-insensitive)."""

    url: str | None = Field(None, min_length=1, max_length=2048)
    url_match: Literal["exact", "prefix", "contains"] = "exact"

    @model_validator(mode="after")
    def _an_address_to_compare(self) -> UrlFilter:
        if self.url is not None and self.url_match != "contains":
            parts = urlsplit(self.url.strip())
            if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
                raise ValueError("url: an http(s) address, unless url_match is 'contains'")
        return self

    def admits(self, url: str) -> bool:
        if self.url is None:
            return True
        if self.url_match == "contains":
            return self.url.casefold() in url.casefold()
        got, wanted = _normal_url(url), _normal_url(self.url)
        return got == wanted if self.url_match == "exact" else got.startswith(wanted)


class UrlData(EventData):
    url: Url


def url_matches(data: UrlData, params: UrlFilter) -> bool:
    return params.admits(data.url)


def _normal_url(url: str) -> str:
    """Scheme and host in lower case, '/' for an empty path, no fragment (browsers never send one)."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


# ---------------------------------------------------------------- calls

DAY = 86_400
LineId = Annotated[str, Field(pattern=endpoints.pattern(endpoints.TELEPHONY_LINE))]
Seconds = Annotated[int, Field(ge=0, le=DAY)]


class LineFilter(Params):
    line_ids: list[LineId] = Field(default=[], max_length=MAX_IDS, description="none: calls on any line")

    def admits(self, line_id: str | None) -> bool:
        return not self.line_ids or line_id in self.line_ids


class CallData(EventData):
    """A call (``crm.domain.telephony.Call.data``); a call an employee logged has only its duration."""

    line_id: LineId | None = None  # none: logged by an employee, on no line
    provider: Literal["twilio", "pbx"] | None = None
    call_id: str | None = Field(None, max_length=128)
    status: str | None = Field(None, max_length=32)
    direction: Literal["inbound", "outbound"] | None = None
    client_number: str | None = Field(None, max_length=32)
    line_number: str | None = Field(None, max_length=32)
    duration_seconds: Seconds | None = None  # none: not logged
    ring_seconds: Seconds | None = None  # none: the provider does not say
