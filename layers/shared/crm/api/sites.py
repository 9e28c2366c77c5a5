"""Sites: the tenant's web sites whose pages report visits (``POST /site/{site_key}/events``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from crm.api.context import tenant_id
from crm.api.schemas import Body, Name
from crm.api.urls import public_url
from crm.domain.sites import MAX_ORIGINS, Site
from crm.service import sites

router = Router()

SiteId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]
Origin = Annotated[str, Field(min_length=8, max_length=300, examples=["https://shop.example"])]

# What a page embeds: one visit per page view, sent with sendBeacon (no CORS preflight); the page
# calls crmVisit({email: ...}) once it knows who the visitor is, which links the visitor id to them.
SNIPPET = """<script>
(function () {
  var url = %s, key = "crm_visitor_id", id = localStorage.getItem(key);
  if (!id) { id = crypto.randomUUID(); localStorage.setItem(key, id); }
  window.crmVisit = function (contact) {
    var visit = Object.assign({url: location.href, visitor_id: id}, contact || {});
    navigator.sendBeacon(url, JSON.stringify(visit));
  };
  window.crmVisit();
})();
</script>"""


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
    key: str = Field(description="the site key: public, it goes into the site's pages")
    events_url: str = Field(description="where the pages POST their visits")
    snippet: str = Field(description="the script to put into every page of the site")

    @classmethod
    def of(cls, site: Site) -> SiteOut:
        url = public_url(router, f"/site/{site.key}/events")
        return cls(
            id=site.id,
            name=site.name,
            origins=list(site.origins),
            created_at=site.created_at,
            key=site.key,
            events_url=url,
            snippet=SNIPPET % json.dumps(url),
        )


@router.post("/automation/sites", tags=["automation"], status_code=201)
def create_site(body: SiteIn) -> tuple[SiteOut, int]:
    """A site whose pages report visits: the answer has the key and the snippet for its pages.
    The key is public; it works only from the origins given (and is rate-limited per address)."""
    return SiteOut.of(sites.create(tenant_id(router), body.name, body.origins)), 201


@router.get("/automation/sites", tags=["automation"])
def list_sites() -> list[SiteOut]:
    return [SiteOut.of(site) for site in sites.sites(tenant_id(router))]


@router.get("/automation/sites/<site_id>", tags=["automation"])
def get_site(site_id: SiteId) -> SiteOut:
    return SiteOut.of(sites.get(tenant_id(router), site_id))


@router.delete("/automation/sites/<site_id>", tags=["automation"], status_code=204)
def delete_site(site_id: SiteId) -> None:
    """The site's key stops working (within a minute where it was used a moment ago)."""
    sites.delete(tenant_id(router), site_id)
    return Response(204)
