"""Signs a telephony provider's call event as the provider does, for trying the telephony source by
hand against a line's webhook URL (the local runtime's demo prints these lines).

    python scripts/sign_call.py --twilio AUTH_TOKEN --curl URL events/ingest_telephony/twilio_no_answer.json
    python scripts/sign_call.py --pbx SECRET --curl URL events/ingest_telephony/pbx_missed_call.json

takes the body of a sample API Gateway event (a Twilio callback's form, a PBX's JSON report) and
prints a curl line posting it to URL with ``X-Twilio-Signature`` (Twilio's scheme, over URL and the
form) or ``X-Crm-Signature`` (the PBX scheme, signed now). A PBX report's ``call_id`` is made new
each time, so each line is a new call; a Twilio callback keeps its CallSid (send it twice: once).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "shared"))

from crm.domain import signatures
from crm.domain.telephony import PBX_SIGNATURE, TWILIO_SIGNATURE, twilio_signature


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("event", type=Path, help="a sample API Gateway event of IngestTelephonyFunction")
    provider = parser.add_mutually_exclusive_group(required=True)
    provider.add_argument("--twilio", metavar="AUTH_TOKEN", help="the Twilio line's auth token")
    provider.add_argument("--pbx", metavar="SECRET", help="the PBX line's signing secret")
    parser.add_argument("--curl", metavar="URL", required=True, help="the line's webhook URL")
    parser.add_argument(
        "--at",
        type=datetime.fromisoformat,
        default=None,
        help="sign at this ISO time (the local runtime's, GET /_local/clock, after moving it); default: now",
    )
    options = parser.parse_args()
    body = json.loads(options.event.read_text())["body"]
    if options.twilio is not None:
        params = parse_qsl(body, keep_blank_values=True)
        header = f"{TWILIO_SIGNATURE}: {twilio_signature(options.twilio, options.curl, params)}"
        content_type = "application/x-www-form-urlencoded"
    else:
        body = json.dumps(json.loads(body) | {"call_id": f"demo-{uuid.uuid4().hex[:12]}"})
        header = (
            f"{PBX_SIGNATURE}: {signatures.sign(body.encode(), options.pbx, options.at or datetime.now(UTC))}"
        )
        content_type = "application/json"
    print(
        f"curl -s -X POST {shlex.quote(options.curl)} -H 'Content-Type: {content_type}' "
        f"-H {shlex.quote(header)} --data-binary {shlex.quote(body)}"
    )


if __name__ == "__main__":
    main()
