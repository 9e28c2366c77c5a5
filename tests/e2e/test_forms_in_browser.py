"""Headless Chromium fills in and submits the hosted page of the demo's "Contact us" form served by
the local runtime, and lands on the form's thank-you page; the CRM has the lead, qualified by the
form's trigger, with its timeline and journal entries."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Local

pytestmark = pytest.mark.e2e


def test_a_person_submits_the_hosted_form_and_lands_on_the_thank_you_page(local: Local, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    form_id = local.demo["forms"]["contact_us"]
    # The thank-you page: one the runtime serves (the form's own, shown after a post)
    thanks = f"{local.api_url}/forms/{form_id}?submitted=1"
    form = local.call("GET", f"/automation/forms/{form_id}").body
    settings = {k: form[k] for k in ("name", "kind", "fields", "item_type", "pipeline_id", "responsible_id")}
    assert (
        local.call("PUT", f"/automation/forms/{form_id}", settings | {"thank_you_url": thanks}).status == 200
    )

    browser.get(f"{local.api_url}/forms/{form_id}")
    browser.find_element(By.NAME, "name").send_keys("Browser Person")
    browser.find_element(By.NAME, "email").send_keys("browser.person@example.org")
    browser.find_element(By.NAME, "company").send_keys("Chromium Ltd")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: "submitted=1" in b.current_url)

    assert browser.current_url == thanks
    assert "Thank you" in browser.find_element(By.TAG_NAME, "body").text
    leads = local.call("GET", "/items/lead?pipeline_id=leads&limit=100").body["items"]
    (lead,) = [i for i in leads if i["emails"] == ["browser.person@example.org"]]
    assert (lead["title"], lead["company"], lead["stage_id"]) == (
        "Browser Person",
        "Chromium Ltd",
        "qualified",
    )
    entries = local.call("GET", f"/items/lead/{lead['id']}/timeline").body["entries"]
    (move,) = [e for e in entries if e["kind"] == "stage_changed"]
    assert move["data"]["trigger"]["name"] == "Contact form filled"
    assert move["by"] == local.demo["employees"]["rep_anna"]
    (entry,) = local.trigger_journal("lead", lead["id"])
    assert [v["verdict"] for v in entry["verdicts"]] == ["moved"]
    # The page's honeypot stayed empty and its nonce made one submission
    sent = local.call("GET", f"/automation/forms/{form_id}/submissions").body["entries"]
    (submission,) = [s for s in sent if s["values"]["email"] == "browser.person@example.org"]
    assert entry["event"]["event_id"] == submission["event_id"]
    assert submission["event_id"].startswith(f"{form_id}.n.")  # the hosted page's nonce
