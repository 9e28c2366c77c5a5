"""The authorizer logs without powertools (it is on the path of every uncached request) and still
as powertools' Logger does: one JSON object a line on standard output, which Lambda ships to
CloudWatch Logs, with the request's source address and the invocation's request id."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import ROOT, load_event
from tests.integration.test_authorizer import authorize


def test_a_refused_key_is_logged_as_one_json_line(aws, capsys):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize("Bearer crm_acme_00000000_" + "0" * 48)
    (line,) = capsys.readouterr().out.splitlines()
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["message"] == "refused API key"
    assert entry["service"] == "crm-automation" and entry["function_request_id"]
    assert (
        entry["source_ip"] == load_event("authorizer/request.json")["requestContext"]["identity"]["sourceIp"]
    )


def test_loading_the_handler_again_does_not_log_twice(aws, capsys):
    # The local runtime and the tests load functions/authorizer/app.py under names of their own.
    spec = importlib.util.spec_from_file_location(
        "authorizer_again", ROOT / "functions" / "authorizer" / "app.py"
    )
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize("Bearer crm_acme_00000000_" + "0" * 48)
    assert len(capsys.readouterr().out.splitlines()) == 1
