"""Sites: the tenant's web sites whose pages report visits (``POST /site/{site_key}/events``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from crm.api.context import tenant_id
from crm.api.hooks import RotateIn
from crm.api.schemas import Body, Name
from crm.api.urls import public_url
from crm.domain.sites import MAX_ORIGINS, Site
from crm.service import sites

router = Router()

SiteId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]
Origin = Annotated[str, Field(min_length=8, max_length=300, examples=["https://shop.example"])]

# What a page embeds: one visit per page view, sent with sendBeacon (no CORS preflight). The visitor
# id lives in a first-party cookie so that the site's backend can read it and sign it with the
# visitor's contact (CONTACT_TOKEN); a page for a signed-in visitor sets window.crmContactToken first.
SNIPPET = """<script>
/* For a signed-in visitor, render <script>window.crmContactToken = "...";</script> before this one:
   the token your backend signs for the crm_visitor_id cookie (see contact_token_format). */
(function () {
  var url = %s, name = "crm_visitor_id";
  var found = document.cookie.match(/(?:^|; )crm_visitor_id=([A-Za-z0-9_.:-]{1,128})/);
  var id = found ? found[1] : crypto.randomUUID();
  document.cookie = name + "=" + id + "; path=/; max-age=34560000; SameSite=Lax" +
    (location.protocol === "https:" ? "; Secure" : "");
  window.crmVisit = function (contactToken) {
    var visit = {url: location.href, visitor_id: id};
    if (contactToken) visit.contact_token = contactToken;
    navigator.sendBeacon(url, JSON.stringify(visit));
  };
  window.crmVisit(window.crmContactToken);
})();
</script>"""

CONTACT_TOKEN = """A visit names its visitor's contact only in contact_token, which the site's backend signs:
  payload = base64url(JSON {"email": ... (or "phone": "+E.164"), "visitor_id": <the crm_visitor_id cookie>,
                            "exp": <Unix seconds, at most 30 days ahead>})
  contact_token = payload + "." + base64url(HMAC-SHA256(key = the site's secret as UTF-8, message = payload))
base64url without "=" padding. An expired or forged token makes the visit anonymous (still 204, with
the header Crm-Contact-Token: expired | refused); a visit with a plain email or phone is refused (400).
In Python:
  import base64, hashlib, hmac, json, time
  def contact_token(secret: str, visitor_id: str, email: str) -> str:
      b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
      claims = {"email": email, "visitor_id": visitor_id, "exp": int(time.time()) + 3600}
      payload = b64(json.dumps(claims).encode())
      return payload + "." + b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
"""


class SiteIn(Body):
    name: Name
    origins: list[Origin] = Field(
        min_length=1, max_length=MAX_ORIGINS, description="where the site's pages are served from"
    )


class SiteOut(BaseModel):
    id: str
    name: str
    origins: list[str]
    created_at: datetime
    rotated_at: datetime | None
    previous_valid_until: datetime | None = Field(
        description="until when the secret before the last rotation still verifies tokens (null: it does not)"
    )
    key: str = Field(description="the site key: public, it goes into the site's pages")
    events_url: str = Field(description="where the pages POST their visits")
    snippet: str = Field(description="the script to put into every page of the site")
    contact_token_format: str = Field(
        description="how the site's backend signs a visitor's contact_token, with an example in Python"
    )

    @classmethod
    def of(cls, site: Site) -> SiteOut:
        url = public_url(router, f"/site/{site.key}/events")
        return cls(
            id=site.id,
            name=site.name,
            origins=list(site.origins),
            created_at=site.created_at,
            rotated_at=site.rotated_at,
            previous_valid_until=site.previous_valid_until,
            key=site.key,
            events_url=url,
            snippet=SNIPPET % json.dumps(url),
            contact_token_format=CONTACT_TOKEN,
        )


class IssuedSiteOut(SiteOut):
    secret: str = Field(
        description="shown once: the site's backend signs contact tokens with it; keep it off the pages"
    )

    @classmethod
    def of(cls, site: Site) -> IssuedSiteOut:
        return cls(**SiteOut.of(site).model_dump(), secret=site.secret)


@router.post("/automation/sites", tags=["automation"], status_code=201)
def create_site(body: SiteIn) -> tuple[IssuedSiteOut, int]:
    """A site whose pages report visits: the answer has the key and the snippet for its pages, and
    the secret its backend signs visitors' contact tokens with (shown this once). The key is public;
    it works only from the origins given (and is rate-limited per address)."""
    return IssuedSiteOut.of(sites.create(tenant_id(router), body.name, body.origins)), 201


@router.get("/automation/sites", tags=["automation"])
def list_sites() -> list[SiteOut]:
    return [SiteOut.of(site) for site in sites.sites(tenant_id(router))]


@router.get("/automation/sites/<site_id>", tags=["automation"])
def get_site(site_id: SiteId) -> SiteOut:
    return SiteOut.of(sites.get(tenant_id(router), site_id))


@router.post("/automation/sites/<site_id>/rotate", tags=["automation"])
def rotate_site_secret(site_id: SiteId, body: RotateIn) -> IssuedSiteOut:
    """A new signing secret (shown once); tokens signed with the current one keep verifying for
    grace_hours, or until the previous secret is revoked. A second rotation within that time retires
    the oldest. Warm containers may take up to a minute to see it."""
    return IssuedSiteOut.of(sites.rotate(tenant_id(router), site_id, timedelta(hours=body.grace_hours)))


@router.delete("/automation/sites/<site_id>/previous", tags=["automation"], status_code=204)
def revoke_previous_site_secret(site_id: SiteId) -> None:
    """Ends a rotation's grace period: only the newest secret verifies tokens (404 if no other does)."""
    sites.revoke_previous(tenant_id(router), site_id)
    return Response(204)


@router.delete("/automation/sites/<site_id>", tags=["automation"], status_code=204)
def delete_site(site_id: SiteId) -> None:
    """The site's key stops working (within a minute where it was used a moment ago)."""
    sites.delete(tenant_id(router), site_id)
    return Response(204)
