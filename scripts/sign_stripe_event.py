"""Signs a Stripe event as Stripe does, for trying the payments source by hand.

    python scripts/sign_stripe_event.py --secret whsec_... events/ingest_payments/invoice_paid.json

prints the ``Stripe-Signature`` header for the event's body (the ``body`` of a sample API Gateway
event, or a file holding the Stripe event itself), signed now; ``--curl URL`` prints a curl line
that posts it there instead. The body is sent byte for byte as signed (``--data-binary``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "shared"))

from crm.domain.payments import stripe_signature


def body_of(path: Path) -> bytes:
    document = json.loads(path.read_text())
    if isinstance(document, dict) and "httpMethod" in document:  # a sample API Gateway event
        return document["body"].encode()
    return json.dumps(document, separators=(",", ":")).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("event", type=Path, help="a Stripe event, or a sample API Gateway event holding one")
    parser.add_argument("--secret", required=True, help="the payment account's signing secret (whsec_...)")
    parser.add_argument("--curl", metavar="URL", help="print a curl line posting it to URL")
    options = parser.parse_args()
    body = body_of(options.event)
    header = stripe_signature(body, options.secret, datetime.now(UTC))
    if options.curl is None:
        print(header)
        return
    print(
        f"curl -s -X POST {shlex.quote(options.curl)} -H 'Content-Type: application/json' "
        f"-H {shlex.quote('Stripe-Signature: ' + header)} --data-binary {shlex.quote(body.decode())}"
    )


if __name__ == "__main__":
    main()
