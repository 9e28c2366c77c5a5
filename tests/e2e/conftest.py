"""The local runtime with the real template and its demo tenant, started once for the e2e tests.

Package-scoped rather than session-scoped: it is torn down when the e2e tests are done, so the
unit and integration tests that run after them in the same process find their own environment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.runtime import Options
from tests.e2e.harness import Answer, http, running


@dataclass
class Local:
    """What a user of ``make run`` has: the URLs and key from .local/demo.json."""

    demo: dict[str, Any]

    @property
    def api_url(self) -> str:
        return self.demo["api_url"]

    @property
    def smtp_port(self) -> int:
        return self.demo["smtp"]["port"]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        key: str | None = "demo",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        headers = ({"Content-Type": "application/json"} if body is not None else {}) | (headers or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {self.demo['api_key'] if key == 'demo' else key}"
        return http(method, f"{self.api_url}{path}", body, headers)

    def trigger_journal(self, item_type: str, item_id: str) -> list[dict[str, Any]]:
        """The item's journal entries of trigger events, newest first (the item's journal also
        holds what happened to its robot runs, entries of kind ``robot_run``)."""
        answer = self.call("GET", f"/items/{item_type}/{item_id}/journal?limit=100")
        assert answer.status == 200, answer.body
        return [entry for entry in answer.body["entries"] if entry.get("kind") != "robot_run"]


@pytest.fixture(scope="package")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    demo_file = tmp_path_factory.mktemp("local") / "demo.json"
    with running(Options(api_port=0, smtp_port=0, demo_file=demo_file)):
        yield Local(json.loads(demo_file.read_text()))


# The browser fixture, for the tests that submit a page or open a link in headless Chromium.
from tests.e2e.browser import browser  # noqa: E402, F401
