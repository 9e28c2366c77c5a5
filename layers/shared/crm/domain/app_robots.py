"""App robots (Bitrix24's ``bizproc.robot.add``): an application registers a robot - a code, a name,
the HTTPS address of its handler, the tenant's secret both sides sign with, the properties a robot
of it takes and the properties it returns - and the tenant puts *app robot* robots naming the code
on stages. When one runs, the CRM posts the item and the properties to the handler, signed; the
handler answers the return properties, signed with the same secret, and they become the run's
outputs (``{{ robots.<robot id>.<property> }}``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.domain.errors import Invalid
from crm.domain.urls import web_address

CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_PROPERTIES = 20


class PropertyType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"

    def holds(self, value: Any) -> bool:
        if self is PropertyType.STRING:
            return isinstance(value, str)
        if self is PropertyType.BOOLEAN:
            return isinstance(value, bool)
        return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Property:
    name: str
    type: PropertyType
    required: bool = False

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise Invalid(f"property {self.name!r}: a name of letters, digits and '_'")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.value, "required": self.required}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Property:
        try:
            kind = PropertyType(data.get("type"))
        except ValueError:
            raise Invalid(
                f"property {data.get('name')!r}: type is one of {[t.value for t in PropertyType]}"
            ) from None
        return cls(str(data.get("name")), kind, bool(data.get("required")))


def _properties(values: Any, what: str) -> tuple[Property, ...]:
    if not isinstance(values, list | tuple) or len(values) > MAX_PROPERTIES:
        raise Invalid(f"{what}: a list of at most {MAX_PROPERTIES} properties")
    properties = tuple(p if isinstance(p, Property) else Property.from_dict(p) for p in values)
    if len({p.name for p in properties}) != len(properties):
        raise Invalid(f"{what}: each property is named once")
    return properties


@dataclass(frozen=True)
class AppRobot:
    code: str
    name: str
    handler_url: str  # https, where the CRM posts each run
    secret_ref: str  # the tenant's secret (``/automation/secrets``) both sides sign with
    properties: tuple[Property, ...]
    returns: tuple[Property, ...]
    created_at: datetime

    def __post_init__(self) -> None:
        if not CODE.match(self.code):
            raise Invalid("code: lower-case letters, digits and '_', starting with a letter (2-64)")
        if not self.name or len(self.name) > 200:
            raise Invalid("name: 1 to 200 characters")
        if not web_address(self.handler_url, "handler_url").startswith("https://"):
            raise Invalid("handler_url: an https:// address (the CRM posts the client's data there)")
        object.__setattr__(self, "properties", _properties(self.properties, "properties"))
        object.__setattr__(self, "returns", _properties(self.returns, "returns"))

    def checked(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` for the properties: every required one given, none unknown, each of its type
        (a text may still be a template, rendered when the robot runs). Invalid otherwise."""
        declared = {p.name: p for p in self.properties}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise Invalid(f"properties: {self.code} takes no {', '.join(unknown)}")
        for prop in self.properties:
            if prop.name not in values:
                if prop.required:
                    raise Invalid(f"properties.{prop.name}: required by {self.code}")
            elif not prop.type.holds(values[prop.name]):
                raise Invalid(f"properties.{prop.name}: a {prop.type.value}")
        return dict(values)

    def answered(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        """The return properties from the handler's answer; Invalid when one is missing or of
        another type (the application's mistake: the run fails saying so)."""
        outputs = {}
        for prop in self.returns:
            if prop.name not in answer:
                if prop.required:
                    raise Invalid(f"the handler's answer lacks {prop.name!r}")
                continue
            if not prop.type.holds(answer[prop.name]):
                raise Invalid(f"the handler's answer: {prop.name!r} is not a {prop.type.value}")
            outputs[prop.name] = answer[prop.name]
        return outputs

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "handler_url": self.handler_url,
            "secret_ref": self.secret_ref,
            "properties": [p.to_dict() for p in self.properties],
            "returns": [p.to_dict() for p in self.returns],
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AppRobot:
        return cls(
            code=data["code"],
            name=data["name"],
            handler_url=data["handler_url"],
            secret_ref=data["secret_ref"],
            properties=data.get("properties") or (),
            returns=data.get("returns") or (),
            created_at=datetime.fromisoformat(data["created_at"]),
        )
