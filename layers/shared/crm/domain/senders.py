"""Whom a tenant may send mail as: the sender identities the platform operator granted it.

The mail service's identities (SES's verified domains and addresses) belong to the whole AWS
account, not to a tenant: SES sends one tenant's mail as any address the account verified. So the
operator grants each tenant its own, and a tenant's sender must be one of them (tenants hold their
own admin keys: nothing a tenant can call grants an identity). A domain grants every address at
exactly that domain; a subdomain is granted on its own, so that tenants may own sibling subdomains
of one domain. An address grants itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crm.domain.contacts import normal_email
from crm.domain.errors import Invalid

# A DNS label once in ASCII (RFC 1035, with digits first allowed as RFC 1123 does).
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
MAX_DOMAIN = 253


def sender_domain(raw: str) -> str:
    """``raw`` as a granted domain: lower case, international names in ASCII (IDNA), no final dot;
    Invalid for what is no domain name (an address, a single label, a URL)."""
    wrong = f"{raw!r} is not a domain name (like acme.com)"
    if not isinstance(raw, str) or "@" in raw:
        raise Invalid(wrong)
    try:
        name = raw.strip().lower().removesuffix(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise Invalid(wrong) from None
    labels = name.split(".")
    if len(name) > MAX_DOMAIN or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise Invalid(wrong)
    return name


def sender_address(raw: str) -> str:
    """``raw`` as a granted (or sending) address: the CRM's normal form, its domain as
    ``sender_domain`` writes it."""
    local, domain = normal_email(raw).rsplit("@", 1)
    return f"{local}@{sender_domain(domain)}"


@dataclass(frozen=True)
class SenderIdentities:
    """The domains and addresses a tenant may send mail from (none: it may send none)."""

    domains: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()

    @classmethod
    def granted(cls, domains: Iterable[str] = (), addresses: Iterable[str] = ()) -> SenderIdentities:
        """Identities as the operator writes them, checked and normalised."""
        return cls(
            frozenset(sender_domain(d) for d in domains), frozenset(sender_address(a) for a in addresses)
        )

    @classmethod
    def stored(cls, values: Iterable[str]) -> SenderIdentities:
        """Identities as ``values`` lists them (normalised already): an address has an '@'."""
        given = set(values)
        return cls(frozenset(v for v in given if "@" not in v), frozenset(v for v in given if "@" in v))

    def values(self) -> list[str]:
        """Domains, then addresses, each sorted."""
        return sorted(self.domains) + sorted(self.addresses)

    def __bool__(self) -> bool:
        return bool(self.domains or self.addresses)

    def covers(self, address: str) -> bool:
        """True if mail may come from ``address``: it is granted, or its domain is."""
        try:
            normal = sender_address(address)
        except Invalid:
            return False
        return normal in self.addresses or normal.rsplit("@", 1)[1] in self.domains

    def described(self) -> str:
        """For messages: which addresses these identities allow."""
        if not self:
            return "none yet: the platform operator grants sender domains and addresses"
        at = [f"any address at {domain}" for domain in sorted(self.domains)]
        return ", ".join(at + sorted(self.addresses))
